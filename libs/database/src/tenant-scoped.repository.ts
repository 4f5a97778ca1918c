import type { DeepPartial, EntityManager, ObjectLiteral, Repository, SelectQueryBuilder } from 'typeorm';
import { NotFoundError, TenantId } from '@app/core';
import { Page, PageQueryDto, paginate, paginateNewestFirst } from './pagination';

export interface TenantOwned extends ObjectLiteral {
  id: string;
  tenantId: string;
}

/**
 * A query builder over any tenant-owned entity, already restricted to the tenant's rows: the one
 * way to write a tenant filter (used by TenantScopedRepository, and by services that read another
 * tenant-owned entity in passing).
 */
export function tenantQuery<T extends ObjectLiteral>(repository: Repository<T>, tenantId: TenantId, alias: string): SelectQueryBuilder<T> {
  return repository.createQueryBuilder(alias).where(`${alias}.tenant_id = :tenantId`, { tenantId });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

/**
 * The single place where tenant scoping is written. Every method takes the tenant by type, so a
 * query that forgets it does not compile; a row of another tenant is simply not found.
 */
export abstract class TenantScopedRepository<T extends TenantOwned> {
  protected constructor(
    protected readonly repository: Repository<T>,
    /** The resource's name in error messages ("Channel not found"). */
    protected readonly resourceName: string,
  ) {}

  protected get alias(): string {
    return this.repository.metadata.tableName;
  }

  /** A query builder already restricted to the tenant's rows. */
  scoped(tenantId: TenantId, alias = this.alias, manager?: EntityManager): SelectQueryBuilder<T> {
    return tenantQuery(manager ? manager.getRepository<T>(this.repository.target) : this.repository, tenantId, alias);
  }

  async findById(tenantId: TenantId, id: string, manager?: EntityManager): Promise<T | null> {
    if (!isUuid(id)) return null;
    return this.scoped(tenantId, this.alias, manager).andWhere(`${this.alias}.id = :id`, { id }).getOne();
  }

  async getById(tenantId: TenantId, id: string, manager?: EntityManager): Promise<T> {
    const found = await this.findById(tenantId, id, manager);
    if (!found) throw new NotFoundError(this.resourceName);
    return found;
  }

  async list(tenantId: TenantId, page: PageQueryDto, refine?: (qb: SelectQueryBuilder<T>) => void): Promise<Page<T>> {
    const qb = this.scoped(tenantId);
    refine?.(qb);
    return paginate(qb, page);
  }

  /** The tenant's rows newest first by creation (as people read a list of what they added), the id breaking ties. */
  async listNewestFirst(tenantId: TenantId, page: PageQueryDto, refine?: (qb: SelectQueryBuilder<T>) => void): Promise<Page<T>> {
    const qb = this.scoped(tenantId);
    refine?.(qb);
    return paginateNewestFirst(qb, page, { time: `${qb.alias}.created_at`, id: `${qb.alias}.id`, idProperty: 'id' });
  }

  async insert(tenantId: TenantId, values: DeepPartial<T>, manager?: EntityManager): Promise<T> {
    const repository = manager ? manager.getRepository<T>(this.repository.target) : this.repository;
    const entity = repository.create({ ...values, tenantId } as DeepPartial<T>);
    return repository.save(entity);
  }

  /** Saves an entity previously loaded through this repository (so already the tenant's). */
  async save(tenantId: TenantId, entity: T, manager?: EntityManager): Promise<T> {
    if (entity.tenantId !== tenantId) throw new NotFoundError(this.resourceName);
    const repository = manager ? manager.getRepository<T>(this.repository.target) : this.repository;
    return repository.save(entity);
  }

  async deleteById(tenantId: TenantId, id: string, manager?: EntityManager): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError(this.resourceName);
    const repository = manager ? manager.getRepository<T>(this.repository.target) : this.repository;
    const result = await repository
      .createQueryBuilder()
      .delete()
      .where('tenant_id = :tenantId AND id = :id', { tenantId, id })
      .execute();
    if (!result.affected) throw new NotFoundError(this.resourceName);
  }
}

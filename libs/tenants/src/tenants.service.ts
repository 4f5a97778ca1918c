import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { AuditAction, AuditLogService } from '@app/audit';
import { ConflictError, ForbiddenError, NotFoundError, Principal, TenantId } from '@app/core';
import { isUuid, Page, PageQueryDto, paginate } from '@app/database';
import { Tenant, TenantStatus } from './tenant.entity';

export interface NewTenant {
  name: string;
  slug: string;
  population?: number | null;
  istatCode?: string | null;
}

export type TenantSettingsPatch = Partial<
  Pick<Tenant, 'name' | 'population' | 'istatCode' | 'timezone' | 'quietHoursStart' | 'quietHoursEnd' | 'monthlyMessageCap' | 'privacyPolicyUrl'>
>;

@Injectable()
export class TenantsService {
  constructor(
    @InjectRepository(Tenant) private readonly tenants: Repository<Tenant>,
    private readonly audit: AuditLogService,
  ) {}

  /** Creates a pending tenant inside the caller's transaction (signup creates its admin too). */
  async createPending(manager: EntityManager, values: NewTenant): Promise<Tenant> {
    const repository = manager.getRepository(Tenant);
    if (await repository.exists({ where: { slug: values.slug } })) throw new ConflictError(`slug "${values.slug}" is already taken`);
    return repository.save(
      repository.create({
        name: values.name,
        slug: values.slug,
        population: values.population ?? null,
        istatCode: values.istatCode ?? null,
        status: TenantStatus.Pending,
      }),
    );
  }

  /** The caller's own tenant. */
  async get(tenantId: TenantId): Promise<Tenant> {
    const tenant = await this.tenants.findOneBy({ id: tenantId });
    if (!tenant) throw new NotFoundError('Tenant');
    return tenant;
  }

  async findBySlug(slug: string): Promise<Tenant | null> {
    return this.tenants.findOneBy({ slug });
  }

  async updateSettings(tenantId: TenantId, patch: TenantSettingsPatch, actor: Principal): Promise<Tenant> {
    const tenant = await this.get(tenantId);
    Object.assign(tenant, patch);
    const saved = await this.tenants.save(tenant);
    await this.audit.record({ tenantId, actor, action: AuditAction.TenantSettingsChanged, details: { fields: Object.keys(patch) } });
    return saved;
  }

  /** Throws unless the tenant may send messages (approved and not suspended). */
  async assertCanSend(tenantId: TenantId): Promise<Tenant> {
    const tenant = await this.get(tenantId);
    if (tenant.status === TenantStatus.Pending) {
      throw new ForbiddenError('This comune is awaiting approval by the platform operator and cannot send messages yet', 'tenant_pending');
    }
    if (tenant.status === TenantStatus.Suspended) {
      throw new ForbiddenError('This comune is suspended by the platform operator and cannot send messages', 'tenant_suspended');
    }
    return tenant;
  }

  // Operator side: these routes are not tenant-scoped, they manage tenants themselves.

  async listAll(page: PageQueryDto, status?: TenantStatus): Promise<Page<Tenant>> {
    const qb = this.tenants.createQueryBuilder('tenant');
    if (status) qb.where('tenant.status = :status', { status });
    return paginate(qb, page, { column: 'tenant.id', property: 'id' });
  }

  async setStatus(id: string, status: TenantStatus.Active | TenantStatus.Suspended, actor: Principal): Promise<Tenant> {
    const tenant = isUuid(id) ? await this.tenants.findOneBy({ id }) : null;
    if (!tenant) throw new NotFoundError('Tenant');
    tenant.status = status;
    if (status === TenantStatus.Active && !tenant.approvedAt) tenant.approvedAt = new Date();
    const saved = await this.tenants.save(tenant);
    const action = status === TenantStatus.Active ? AuditAction.TenantApproved : AuditAction.TenantSuspended;
    await this.audit.record({ tenantId: tenant.id, actor, action, target: { type: 'tenant', id: tenant.id } });
    return saved;
  }
}

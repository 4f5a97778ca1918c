import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Role, TenantId } from '@app/core';
import { TenantScopedRepository } from '@app/database';
import { User } from './user.entity';

/** Tenant members. The platform operator (tenant_id NULL) is never reachable through it. */
@Injectable()
export class UsersRepository extends TenantScopedRepository<User & { tenantId: string }> {
  constructor(@InjectRepository(User) repository: Repository<User & { tenantId: string }>) {
    super(repository, 'User');
  }

  findByEmail(email: string): Promise<User | null> {
    return this.repository.createQueryBuilder('u').where('lower(u.email) = lower(:email)', { email }).getOne();
  }

  /** Records a successful login from `address`, keeping the `keep` most recent addresses. */
  async noteLoginAddress(id: string, address: string, at: Date, keep: number): Promise<void> {
    await this.repository.query(
      `UPDATE users SET login_addresses = (
         SELECT COALESCE(jsonb_object_agg(key, value), '{}'::jsonb)
           FROM (SELECT key, value FROM jsonb_each(login_addresses || jsonb_build_object($2::text, $3::text)) ORDER BY value DESC LIMIT $4) recent
       ) WHERE id = $1`,
      [id, address, at.toISOString(), keep],
    );
  }

  async emailExists(email: string): Promise<boolean> {
    return (await this.findByEmail(email)) !== null;
  }

  /** Tenant admins of the comune other than `exceptId`. */
  countOtherAdmins(tenantId: TenantId, exceptId: string): Promise<number> {
    return this.scoped(tenantId, 'u').andWhere('u.role = :role', { role: Role.TenantAdmin }).andWhere('u.id <> :id', { id: exceptId }).getCount();
  }

  findAnyById(id: string): Promise<User | null> {
    return this.repository.findOneBy({ id });
  }
}

import { Injectable } from '@nestjs/common';
import { AuditAction, AuditLogService } from '@app/audit';
import { ConflictError, Principal, Role, TenantId, TenantRole } from '@app/core';
import { Page, PageQueryDto } from '@app/database';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditLogService,
  ) {}

  async create(tenantId: TenantId, email: string, password: string, role: TenantRole, actor: Principal): Promise<User> {
    if (await this.users.emailExists(email)) throw new ConflictError(`email "${email}" is already registered`);
    const user = await this.users.insert(tenantId, { email: email.toLowerCase(), passwordHash: await this.hasher.hash(password), role });
    await this.audit.record({ tenantId, actor, action: AuditAction.UserCreated, target: { type: 'user', id: user.id }, details: { role } });
    return user;
  }

  list(tenantId: TenantId, page: PageQueryDto): Promise<Page<User>> {
    return this.users.list(tenantId, page);
  }

  get(tenantId: TenantId, id: string): Promise<User> {
    return this.users.getById(tenantId, id);
  }

  async changeRole(tenantId: TenantId, id: string, role: TenantRole, actor: Principal): Promise<User> {
    const user = await this.users.getById(tenantId, id);
    if (user.role === Role.TenantAdmin && role !== Role.TenantAdmin) await this.assertNotLastAdmin(tenantId, id);
    const from = user.role;
    user.role = role as Role;
    const saved = await this.users.save(tenantId, user);
    await this.audit.record({ tenantId, actor, action: AuditAction.UserRoleChanged, target: { type: 'user', id }, details: { from, to: role } });
    return saved;
  }

  async remove(tenantId: TenantId, id: string, actor: Principal): Promise<void> {
    if (id === actor.id) throw new ConflictError('You cannot delete your own account');
    const user = await this.users.getById(tenantId, id);
    if (user.role === Role.TenantAdmin) await this.assertNotLastAdmin(tenantId, id);
    await this.users.deleteById(tenantId, id);
    await this.audit.record({ tenantId, actor, action: AuditAction.UserDeleted, target: { type: 'user', id } });
  }

  /** A comune keeps at least one tenant admin: the operator cannot act on its routes to name one again. */
  private async assertNotLastAdmin(tenantId: TenantId, id: string): Promise<void> {
    if ((await this.users.countOtherAdmins(tenantId, id)) === 0) {
      throw new ConflictError('A comune needs at least one tenant admin: make another member tenant admin first', 'last_tenant_admin');
    }
  }
}

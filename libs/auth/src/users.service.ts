import { Injectable } from '@nestjs/common';
import { ConflictError, Role, TenantId, TenantRole } from '@app/core';
import { Page, PageQueryDto } from '@app/database';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
  ) {}

  async create(tenantId: TenantId, email: string, password: string, role: TenantRole): Promise<User> {
    if (await this.users.emailExists(email)) throw new ConflictError(`email "${email}" is already registered`);
    return this.users.insert(tenantId, { email: email.toLowerCase(), passwordHash: await this.hasher.hash(password), role });
  }

  list(tenantId: TenantId, page: PageQueryDto): Promise<Page<User>> {
    return this.users.list(tenantId, page);
  }

  get(tenantId: TenantId, id: string): Promise<User> {
    return this.users.getById(tenantId, id);
  }

  async changeRole(tenantId: TenantId, id: string, role: TenantRole): Promise<User> {
    const user = await this.users.getById(tenantId, id);
    user.role = role as Role;
    return this.users.save(tenantId, user);
  }

  async remove(tenantId: TenantId, id: string, actingUserId: string): Promise<void> {
    if (id === actingUserId) throw new ConflictError('You cannot delete your own account');
    await this.users.deleteById(tenantId, id);
  }
}

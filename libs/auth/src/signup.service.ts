import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConflictError, Role } from '@app/core';
import { NewTenant, Tenant, TenantsService } from '@app/tenants';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';

/** A comune signs up: a pending tenant and its first admin, in one transaction. */
@Injectable()
export class SignupService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tenants: TenantsService,
    private readonly hasher: PasswordHasher,
  ) {}

  async signup(values: NewTenant & { adminEmail: string; adminPassword: string }): Promise<Tenant> {
    const passwordHash = await this.hasher.hash(values.adminPassword);
    try {
      return await this.dataSource.transaction(async (manager) => {
        const users = manager.getRepository(User);
        const taken = await users.createQueryBuilder('u').where('lower(u.email) = lower(:email)', { email: values.adminEmail }).getExists();
        if (taken) throw new ConflictError(`email "${values.adminEmail}" is already registered`);
        const tenant = await this.tenants.createPending(manager, values);
        await users.insert({ tenantId: tenant.id, email: values.adminEmail.toLowerCase(), passwordHash, role: Role.TenantAdmin });
        return tenant;
      });
    } catch (error) {
      // Two signups racing for the same slug or email: the unique index decides.
      if ((error as { code?: string }).code === '23505') throw new ConflictError('slug or email is already registered');
      throw error;
    }
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
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

  async emailExists(email: string): Promise<boolean> {
    return (await this.findByEmail(email)) !== null;
  }

  findAnyById(id: string): Promise<User | null> {
    return this.repository.findOneBy({ id });
  }
}

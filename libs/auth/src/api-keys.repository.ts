import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TenantScopedRepository } from '@app/database';
import { ApiKey } from './api-key.entity';

@Injectable()
export class ApiKeysRepository extends TenantScopedRepository<ApiKey> {
  constructor(@InjectRepository(ApiKey) repository: Repository<ApiKey>) {
    super(repository, 'API key');
  }

  /** Lookup by hash, before any tenant is known: this is how the tenant is learnt. */
  findActiveByHash(keyHash: string): Promise<ApiKey | null> {
    return this.repository.createQueryBuilder('k').where('k.key_hash = :keyHash AND k.revoked_at IS NULL', { keyHash }).getOne();
  }

  /** Records use at most once a minute: concurrent requests with one key must not queue on its row lock. */
  async touch(id: string): Promise<void> {
    await this.repository
      .createQueryBuilder()
      .update()
      .set({ lastUsedAt: () => 'now()' })
      .where(`id = :id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, { id })
      .execute();
  }
}

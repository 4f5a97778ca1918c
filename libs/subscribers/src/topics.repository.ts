import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { BadRequestError, TenantId } from '@app/core';
import { TenantScopedRepository } from '@app/database';
import { Topic } from './topic.entity';

@Injectable()
export class TopicsRepository extends TenantScopedRepository<Topic> {
  constructor(@InjectRepository(Topic) repository: Repository<Topic>) {
    super(repository, 'Topic');
  }

  async findByKeys(tenantId: TenantId, keys: string[], manager?: EntityManager): Promise<Topic[]> {
    if (keys.length === 0) return [];
    return this.scoped(tenantId, 't', manager).andWhere('t.key IN (:...keys)', { keys }).getMany();
  }

  /** The topics named by keys; an unknown key is bad input (400 naming it). */
  async resolveKeys(tenantId: TenantId, keys: string[], manager?: EntityManager): Promise<Topic[]> {
    const unique = [...new Set(keys)];
    const topics = await this.findByKeys(tenantId, unique, manager);
    const missing = unique.filter((key) => !topics.some((t) => t.key === key));
    if (missing.length) throw new BadRequestError(`topics: unknown topic ${missing.map((k) => `"${k}"`).join(', ')}`);
    return topics;
  }

  async listAll(tenantId: TenantId): Promise<Topic[]> {
    return this.scoped(tenantId, 't').orderBy('t.key', 'ASC').getMany();
  }
}

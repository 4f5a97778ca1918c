import { Injectable } from '@nestjs/common';
import { ConflictError, TenantId } from '@app/core';
import { Page, PageQueryDto } from '@app/database';
import { Topic } from './topic.entity';
import { TopicsRepository } from './topics.repository';

@Injectable()
export class TopicsService {
  constructor(private readonly topics: TopicsRepository) {}

  async create(tenantId: TenantId, input: { key: string; name: string }): Promise<Topic> {
    if ((await this.topics.findByKeys(tenantId, [input.key])).length) throw new ConflictError(`A topic with key "${input.key}" already exists`);
    return this.topics.insert(tenantId, { key: input.key, name: input.name });
  }

  list(tenantId: TenantId, page: PageQueryDto): Promise<Page<Topic>> {
    return this.topics.list(tenantId, page);
  }

  listAll(tenantId: TenantId): Promise<Topic[]> {
    return this.topics.listAll(tenantId);
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TenantId } from '@app/core';
import { Page, PageQueryDto, paginateNewestFirst, TenantScopedRepository } from '@app/database';
import { InboundMessage } from './inbound-message.entity';

/** The comune's inbox: what citizens wrote. */
@Injectable()
export class InboundMessagesRepository extends TenantScopedRepository<InboundMessage> {
  constructor(@InjectRepository(InboundMessage) repository: Repository<InboundMessage>) {
    super(repository, 'Inbound message');
  }

  /** Newest first, as staff read it. */
  inbox(tenantId: TenantId, filter: PageQueryDto & { channelId?: string; handledAs?: string }): Promise<Page<InboundMessage>> {
    const qb = this.scoped(tenantId);
    if (filter.channelId) qb.andWhere(`${qb.alias}.channel_id = :channelId`, { channelId: filter.channelId });
    if (filter.handledAs) qb.andWhere(`${qb.alias}.handled_as = :handledAs`, { handledAs: filter.handledAs });
    return paginateNewestFirst(qb, filter, { time: `${qb.alias}.received_at`, id: `${qb.alias}.id`, idProperty: 'id' });
  }
}

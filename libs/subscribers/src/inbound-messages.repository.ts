import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TenantId } from '@app/core';
import { Page, PageQueryDto } from '@app/database';
import { TenantScopedRepository } from '@app/database';
import { InboundMessage } from './inbound-message.entity';

/** The comune's inbox: what citizens wrote. */
@Injectable()
export class InboundMessagesRepository extends TenantScopedRepository<InboundMessage> {
  constructor(@InjectRepository(InboundMessage) repository: Repository<InboundMessage>) {
    super(repository, 'Inbound message');
  }

  inbox(tenantId: TenantId, filter: PageQueryDto & { channelId?: string; handledAs?: string }): Promise<Page<InboundMessage>> {
    return this.list(tenantId, filter, (qb) => {
      if (filter.channelId) qb.andWhere('inbound_messages.channel_id = :channelId', { channelId: filter.channelId });
      if (filter.handledAs) qb.andWhere('inbound_messages.handled_as = :handledAs', { handledAs: filter.handledAs });
    });
  }
}

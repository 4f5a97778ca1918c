import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { TenantId } from '@app/core';
import { TenantScopedRepository } from '@app/database';
import { Subscriber } from './subscriber.entity';

@Injectable()
export class SubscribersRepository extends TenantScopedRepository<Subscriber> {
  constructor(@InjectRepository(Subscriber) repository: Repository<Subscriber>) {
    super(repository, 'Subscriber');
  }

  /** The subscriber of a channel with this phone or this BSUID (phone wins). */
  async findByContact(tenantId: TenantId, channelId: string, contact: { phone?: string | null; userId?: string | null }, manager?: EntityManager): Promise<Subscriber | null> {
    if (contact.phone) {
      const byPhone = await this.scoped(tenantId, 's', manager).andWhere('s.channel_id = :channelId AND s.phone = :phone', { channelId, phone: contact.phone }).getOne();
      if (byPhone) return byPhone;
    }
    if (contact.userId) {
      return this.scoped(tenantId, 's', manager).andWhere('s.channel_id = :channelId AND s.user_id = :userId', { channelId, userId: contact.userId }).getOne();
    }
    return null;
  }

  /** Locks the row for a read-modify-write inside a transaction. */
  async lock(tenantId: TenantId, id: string, manager: EntityManager): Promise<Subscriber | null> {
    return this.scoped(tenantId, 's', manager).andWhere('s.id = :id', { id }).setLock('pessimistic_write').getOne();
  }
}

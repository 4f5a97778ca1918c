import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { isUuid, TenantScopedRepository } from '@app/database';
import type { TenantId } from '@app/core';
import { Channel, ChannelProvider } from './channel.entity';

@Injectable()
export class ChannelsRepository extends TenantScopedRepository<Channel> {
  constructor(@InjectRepository(Channel) repository: Repository<Channel>) {
    super(repository, 'Channel');
  }

  /**
   * Lookup before any tenant is known: a webhook names its channel in the URL (and proves it with
   * the channel's signature); this is how the tenant is learnt.
   */
  async findForWebhook(id: string): Promise<Channel | null> {
    if (!isUuid(id)) return null;
    return this.repository.findOneBy({ id });
  }

  /** Platform-level webhooks are routed by Meta's phone_number_id. */
  async findByPhoneNumberIds(phoneNumberIds: string[]): Promise<Channel[]> {
    if (phoneNumberIds.length === 0) return [];
    return this.repository.createQueryBuilder('c').where('c.phone_number_id IN (:...ids)', { ids: phoneNumberIds }).getMany();
  }

  async hasCampaignsInFlight(tenantId: TenantId, id: string): Promise<boolean> {
    const rows = (await this.repository.query(
      `SELECT 1 FROM campaigns WHERE tenant_id = $1 AND channel_id = $2 AND status IN ('sending', 'scheduled') LIMIT 1`,
      [tenantId, id],
    )) as unknown[];
    return rows.length > 0;
  }

  /**
   * Deletes the channel and, with it, its subscribers, campaigns and messages (the foreign keys'
   * cascade). Each subscriber is erased as DELETE /v1/subscribers/{id} records it: consent events
   * (which outlive the channel) say that the active ones left and that everyone was erased, so the
   * comune's subscriber series counts them as left. Answers what went.
   */
  async deleteWithSubscribers(tenantId: TenantId, id: string): Promise<{ subscribers: number; activeSubscribers: number; campaigns: number }> {
    return this.repository.manager.transaction(async (manager) => {
      const [counts] = (await manager.query(
        `SELECT (SELECT count(*)::int FROM subscribers WHERE tenant_id = $1 AND channel_id = $2) AS subscribers,
                (SELECT count(*)::int FROM subscribers WHERE tenant_id = $1 AND channel_id = $2 AND status = 'active') AS "activeSubscribers",
                (SELECT count(*)::int FROM campaigns WHERE tenant_id = $1 AND channel_id = $2) AS campaigns`,
        [tenantId, id],
      )) as { subscribers: number; activeSubscribers: number; campaigns: number }[];
      await manager.query(
        `INSERT INTO consent_events (tenant_id, subscriber_id, channel_id, action, source, details)
         SELECT s.tenant_id, s.id, s.channel_id, a.action, 'api', '{"reason": "channel deleted"}'::jsonb
           FROM subscribers s CROSS JOIN (VALUES (1, 'unsubscribed'), (2, 'erased')) AS a(step, action)
          WHERE s.tenant_id = $1 AND s.channel_id = $2 AND (a.action = 'erased' OR s.status = 'active')
          ORDER BY s.id, a.step`,
        [tenantId, id],
      );
      await this.deleteById(tenantId, id, manager);
      return counts;
    });
  }

  async updateHealth(id: string, qualityRating: string | null, messagingLimitTier: string | null): Promise<void> {
    await this.repository.update({ id }, { qualityRating, messagingLimitTier });
  }

  /** Channels of the WhatsApp Business Accounts (for WABA-level webhook fields), any tenant. */
  async findByWabaIds(wabaIds: string[]): Promise<Channel[]> {
    if (wabaIds.length === 0) return [];
    return this.repository.createQueryBuilder('c').where('c.waba_id IN (:...ids)', { ids: wabaIds }).getMany();
  }

  /** Every Cloud API channel, any tenant: the platform-wide webhook's handshake names none. */
  async findAllCloud(): Promise<Channel[]> {
    return this.repository.findBy({ provider: ChannelProvider.WhatsAppCloud });
  }

  async existsWithPhoneNumberId(phoneNumberId: string): Promise<boolean> {
    return this.repository.exists({ where: { phoneNumberId } });
  }

  async listAllOfTenant(tenantId: TenantId): Promise<Channel[]> {
    return this.scoped(tenantId, 'c').orderBy('c.created_at', 'ASC').getMany();
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TenantId } from '@app/core';
import { Page, PageQueryDto, paginateRaw, TenantScopedRepository } from '@app/database';
import { Delivery, DeliveryStatus } from '@app/delivery';

export interface DeliveryRow extends Record<string, unknown> {
  id: string;
  subscriberId: string | null;
  phone: string | null;
  userId: string | null;
  status: DeliveryStatus;
  providerMessageId: string | null;
  errorCode: number | null;
  reason: string | null;
  updatedAt: Date;
}

/** The read side of a campaign's deliveries (the API lists them; the pipeline writes them). */
@Injectable()
export class DeliveriesRepository extends TenantScopedRepository<Delivery> {
  constructor(@InjectRepository(Delivery) repository: Repository<Delivery>) {
    super(repository, 'Delivery');
  }

  /** Whether a dispatch job still holds (under a live lease) a queued delivery of the campaign. */
  anyHeldByDispatch(tenantId: TenantId, campaignId: string): Promise<boolean> {
    return this.scoped(tenantId, 'd')
      .andWhere('d.campaign_id = :campaignId', { campaignId })
      .andWhere(`d.status = 'queued' AND d.claimed_until > now()`)
      .getExists();
  }

  listOfCampaign(tenantId: TenantId, campaignId: string, page: PageQueryDto, status?: DeliveryStatus): Promise<Page<DeliveryRow>> {
    const qb = this.scoped(tenantId, 'd')
      .leftJoin('subscribers', 's', 's.id = d.subscriber_id AND s.tenant_id = d.tenant_id')
      .select('d.id', 'id')
      .addSelect('d.subscriber_id', 'subscriberId')
      .addSelect(`COALESCE(s.phone, CASE WHEN d.recipient LIKE '+%' THEN d.recipient END)`, 'phone')
      // A citizen WhatsApp knows by username only: their business-scoped user id, as the CSV export gives it.
      .addSelect(`CASE WHEN s.phone IS NULL THEN COALESCE(s.user_id, CASE WHEN d.recipient NOT LIKE '+%' THEN d.recipient END) END`, 'userId')
      .addSelect('d.status', 'status')
      .addSelect('d.provider_message_id', 'providerMessageId')
      .addSelect('d.error_code', 'errorCode')
      .addSelect('d.reason', 'reason')
      .addSelect('d.updated_at', 'updatedAt')
      .andWhere('d.campaign_id = :campaignId', { campaignId });
    if (status) qb.andWhere('d.status = :status', { status });
    return paginateRaw<DeliveryRow>(qb, page, { column: 'd.id', field: 'id' });
  }

  /** Votes per option of a poll campaign (last answer of each citizen, as poll_votes keeps it). */
  async pollVotes(tenantId: TenantId, campaignId: string): Promise<Map<number, number>> {
    const rows = (await this.repository.manager.query(
      `SELECT option_index AS "optionIndex", count(*)::int AS votes FROM poll_votes WHERE tenant_id = $1 AND campaign_id = $2 GROUP BY option_index`,
      [tenantId, campaignId],
    )) as { optionIndex: number; votes: number }[];
    return new Map(rows.map((row) => [Number(row.optionIndex), row.votes]));
  }

  /** Current reactions to a campaign's messages, per emoji (each citizen's latest reaction counts). */
  async reactions(tenantId: TenantId, campaignId: string): Promise<{ emoji: string; count: number }[]> {
    return (await this.repository.manager.query(
      `SELECT emoji, count(*)::int AS count FROM (
         SELECT DISTINCT ON (COALESCE(from_phone, from_user_id)) payload->'reaction'->>'emoji' AS emoji
           FROM inbound_messages
          WHERE tenant_id = $1 AND campaign_id = $2 AND type = 'reaction'
          ORDER BY COALESCE(from_phone, from_user_id), received_at DESC
       ) latest
       WHERE emoji IS NOT NULL AND emoji <> ''
       GROUP BY emoji ORDER BY count DESC, emoji`,
      [tenantId, campaignId],
    )) as { emoji: string; count: number }[];
  }
}

import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditAction, AuditLogService } from '@app/audit';
import { OptOutWatch } from '@app/delivery';
import { BadRequestError, Clock, ConflictError, Principal, TenantId } from '@app/core';
import { ChannelSecrets, ChannelsRepository, resolveSettings } from '@app/channels';
import { Page, PageQueryDto, tenantQuery } from '@app/database';
import { ConsentEvent } from './consent-event.entity';
import { ConsentLog } from './consent-log';
import { InboundMessage } from './inbound-message.entity';
import { normalizePhone } from './phone';
import { ConsentSource, Subscriber, SubscriberStatus } from './subscriber.entity';
import { SubscribersRepository } from './subscribers.repository';
import { SubscriberTopic } from './topic.entity';
import { TopicsRepository } from './topics.repository';

export interface SubscriberView {
  subscriber: Subscriber;
  topics: string[];
}

export interface NewSubscriber {
  channelId: string;
  phone: string;
  name?: string | null;
  topics?: string[];
  consentSource?: ConsentSource;
}

export interface SubscriberFilter extends PageQueryDto {
  channelId?: string;
  status?: SubscriberStatus;
  topic?: string;
  /** 'true': only those WhatsApp could not reach (131026); 'false': only the others */
  undeliverable?: 'true' | 'false';
}

export interface SubscriberExport {
  subscriber: SubscriberView;
  consentHistory: ConsentEvent[];
  inboundMessages: InboundMessage[];
  pollVotes: { campaignId: string; optionIndex: number; answeredAt: Date }[];
  /** the campaign messages meant for them, with what became of each */
  deliveries: SubscriberDelivery[];
}

export interface SubscriberDelivery {
  campaignId: string;
  campaignTitle: string;
  status: string;
  reason: string | null;
  errorCode: number | null;
  createdAt: Date;
  sentAt: Date | null;
  deliveredAt: Date | null;
  readAt: Date | null;
  failedAt: Date | null;
}

/** Parses a phone or fails naming the field (CONTRACT: 400 naming the field). */
export function requirePhone(input: string, field = 'phone'): string {
  const phone = normalizePhone(input);
  if (!phone) throw new BadRequestError(`${field} must be a valid phone number (e.g. +39 347 123 4567)`);
  return phone;
}

@Injectable()
export class SubscribersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly subscribers: SubscribersRepository,
    private readonly topics: TopicsRepository,
    private readonly channels: ChannelsRepository,
    private readonly secrets: ChannelSecrets,
    private readonly consent: ConsentLog,
    private readonly clock: Clock,
    private readonly audit: AuditLogService,
    private readonly optOuts: OptOutWatch,
  ) {}

  /** The keyed hashes under which a contact is suppressed after erasure. */
  contactHashes(contact: { phone?: string | null; userId?: string | null }): string[] {
    return [contact.phone, contact.userId].filter((v): v is string => !!v).map((v) => this.secrets.digest(`contact:${v}`));
  }

  async create(tenantId: TenantId, input: NewSubscriber): Promise<SubscriberView> {
    const phone = requirePhone(input.phone);
    const channel = await this.channels.getById(tenantId, input.channelId);
    const source = input.consentSource ?? ConsentSource.Api;
    return this.dataSource.transaction(async (manager) => {
      const topics = await this.topics.resolveKeys(tenantId, input.topics ?? [], manager);
      const known = await this.subscribers.findByContact(tenantId, channel.id, { phone }, manager);
      if (known) {
        // One who left is not put back by the comune: only their own opt-in (keyword or web form) brings them back.
        const why =
          known.status === SubscriberStatus.Unsubscribed
            ? ` (${known.id}, unsubscribed: only the person can subscribe again, by writing the subscribe keyword or through the web form)`
            : ` (${known.id}, ${known.status})`;
        throw new ConflictError(`A subscriber with phone ${phone} already exists on this channel${why}`, 'subscriber_exists');
      }
      const now = this.clock.now();
      const subscriber = await this.subscribers.insert(
        tenantId,
        { channelId: channel.id, phone, waId: phone.slice(1), userId: null, name: input.name ?? null, status: SubscriberStatus.Active, consentSource: source, subscribedAt: now },
        manager,
      );
      await this.setTopics(manager, tenantId, subscriber.id, topics.map((t) => t.id));
      await this.consent.record(manager, {
        tenantId,
        channelId: channel.id,
        subscriberId: subscriber.id,
        action: 'subscribed',
        source,
        privacyNoticeVersion: resolveSettings(channel).privacyNoticeVersion,
        occurredAt: now,
      });
      await this.consent.lift(manager, tenantId, channel.id, this.contactHashes({ phone }));
      return { subscriber, topics: topics.map((t) => t.key).sort() };
    });
  }

  async list(tenantId: TenantId, filter: SubscriberFilter): Promise<Page<SubscriberView>> {
    const page = await this.subscribers.listNewestFirst(tenantId, filter, (qb) => {
      if (filter.channelId) qb.andWhere('subscribers.channel_id = :channelId', { channelId: filter.channelId });
      if (filter.status) qb.andWhere('subscribers.status = :status', { status: filter.status });
      if (filter.undeliverable === 'true') qb.andWhere('subscribers.undeliverable_since IS NOT NULL');
      if (filter.undeliverable === 'false') qb.andWhere('subscribers.undeliverable_since IS NULL');
      if (filter.topic) {
        qb.andWhere(
          `EXISTS (SELECT 1 FROM subscriber_topics st JOIN topics t ON t.id = st.topic_id AND t.tenant_id = st.tenant_id
                   WHERE st.tenant_id = subscribers.tenant_id AND st.subscriber_id = subscribers.id AND t.key = :topic)`,
          { topic: filter.topic },
        );
      }
    });
    const keys = await this.topicKeys(tenantId, page.data.map((s) => s.id));
    return { data: page.data.map((subscriber) => ({ subscriber, topics: keys.get(subscriber.id) ?? [] })), nextCursor: page.nextCursor };
  }

  async get(tenantId: TenantId, id: string): Promise<SubscriberView> {
    const subscriber = await this.subscribers.getById(tenantId, id);
    return this.view(tenantId, subscriber);
  }

  async update(tenantId: TenantId, id: string, patch: { name?: string | null; topics?: string[] }): Promise<SubscriberView> {
    return this.dataSource.transaction(async (manager) => {
      const subscriber = await this.subscribers.getById(tenantId, id, manager);
      if (patch.name !== undefined) subscriber.name = patch.name;
      if (patch.topics !== undefined) {
        const topics = await this.topics.resolveKeys(tenantId, patch.topics, manager);
        await this.setTopics(manager, tenantId, subscriber.id, topics.map((t) => t.id));
      }
      subscriber.updatedAt = this.clock.now();
      await this.subscribers.save(tenantId, subscriber, manager);
      return this.view(tenantId, subscriber, manager);
    });
  }

  /** Immediate opt-out by the comune (on the citizen's request made off WhatsApp). */
  async unsubscribe(tenantId: TenantId, id: string, source = 'api'): Promise<SubscriberView> {
    let left = false;
    const view = await this.dataSource.transaction(async (manager) => {
      const subscriber = await this.subscribers.getById(tenantId, id, manager);
      if (subscriber.status !== SubscriberStatus.Unsubscribed) {
        left = true;
        const now = this.clock.now();
        // A signup never confirmed is withdrawn rather than counted as someone who left.
        const action = subscriber.status === SubscriberStatus.Pending ? 'withdrawn' : 'unsubscribed';
        subscriber.status = SubscriberStatus.Unsubscribed;
        subscriber.unsubscribedAt = now;
        await this.subscribers.save(tenantId, subscriber, manager);
        await this.consent.record(manager, { tenantId, channelId: subscriber.channelId, subscriberId: subscriber.id, action, source, occurredAt: now });
      }
      return this.view(tenantId, subscriber, manager);
    });
    // Messages of a campaign claimed for them already and still waiting to go: not sent.
    if (left) await this.optOuts.announce(tenantId, [id]);
    return view;
  }

  /**
   * GDPR erasure: the person's data goes (subscriber row, topics, votes, messages, the phone on
   * deliveries); what stays is a keyed hash in suppressed_contacts and an anonymous `erased` event.
   */
  async erase(tenantId: TenantId, id: string, actor?: Principal): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const subscriber = await this.subscribers.getById(tenantId, id, manager);
      const now = this.clock.now();
      await this.consent.suppress(manager, tenantId, subscriber.channelId, this.contactHashes(subscriber));
      await manager.query(`UPDATE consent_events SET message_id = NULL, details = NULL WHERE tenant_id = $1 AND subscriber_id = $2`, [tenantId, subscriber.id]);
      // Their messages go; the message ids stay (nothing else), so that Meta delivering one again
      // (it retries for days) is still recognised as handled and has no second effect.
      await manager.query(
        `WITH gone AS (
           DELETE FROM inbound_messages WHERE tenant_id = $1 AND channel_id = $2
              AND (subscriber_id = $3 OR ($4::text IS NOT NULL AND from_phone = $4) OR ($5::text IS NOT NULL AND from_user_id = $5))
           RETURNING tenant_id, channel_id, provider_message_id
         )
         INSERT INTO erased_inbound_messages (tenant_id, channel_id, provider_message_id, erased_at)
         SELECT tenant_id, channel_id, provider_message_id, $6 FROM gone
         ON CONFLICT (channel_id, provider_message_id) DO NOTHING`,
        [tenantId, subscriber.channelId, subscriber.id, subscriber.phone, subscriber.userId, now],
      );
      const contacts = [subscriber.phone, subscriber.userId].filter((v): v is string => !!v);
      await manager.query(`DELETE FROM sandbox_messages WHERE tenant_id = $1 AND channel_id = $2 AND contact = ANY($3)`, [tenantId, subscriber.channelId, contacts]);
      await manager.query(`DELETE FROM reply_outbox WHERE tenant_id = $1 AND channel_id = $2 AND (to_phone = ANY($3) OR to_user_id = ANY($3))`, [tenantId, subscriber.channelId, contacts]);
      // Meta's raw events that name them (their messages, their statuses), kept for replay until
      // retention: those already handled go now. One still waiting to be handled is left to it.
      // Found through the contacts each event names (an index); events stored before that column
      // (at most the retention period old) are searched in their text.
      const ids = [subscriber.waId ?? subscriber.phone?.replace(/^\+/, ''), subscriber.userId].filter((v): v is string => !!v);
      await manager.query(`DELETE FROM webhook_events WHERE contacts && $3::text[] AND (tenant_id = $1 OR $2::uuid = ANY(channel_ids)) AND processed_at IS NOT NULL`, [
        tenantId,
        subscriber.channelId,
        ids,
      ]);
      await manager.query(
        `DELETE FROM webhook_events WHERE contacts IS NULL AND (tenant_id = $1 OR $2::uuid = ANY(channel_ids)) AND processed_at IS NOT NULL AND payload::text LIKE ANY($3)`,
        [tenantId, subscriber.channelId, ids.map((v) => `%${JSON.stringify(v)}%`)],
      );
      await manager.query(`UPDATE deliveries SET recipient = NULL WHERE tenant_id = $1 AND subscriber_id = $2`, [tenantId, subscriber.id]);
      // An active subscriber who is erased has left: the subscriber series counts it as such.
      if (subscriber.status === SubscriberStatus.Active) {
        await this.consent.record(manager, { tenantId, channelId: subscriber.channelId, subscriberId: subscriber.id, action: 'unsubscribed', source: 'api', occurredAt: now });
      }
      await this.consent.record(manager, { tenantId, channelId: subscriber.channelId, subscriberId: subscriber.id, action: 'erased', source: 'api', occurredAt: now });
      await this.subscribers.deleteById(tenantId, subscriber.id, manager);
      // Only the id stays in the trail: the person's data is gone.
      await this.audit.record({ tenantId, actor: actor ?? { kind: 'system' }, action: AuditAction.SubscriberErased, target: { type: 'subscriber', id: subscriber.id } }, manager);
    });
    await this.optOuts.announce(tenantId, [id]);
  }

  async export(tenantId: TenantId, id: string): Promise<SubscriberExport> {
    const subscriber = await this.subscribers.getById(tenantId, id);
    const [view, consentHistory, inboundMessages, pollVotes, deliveries] = await Promise.all([
      this.view(tenantId, subscriber),
      tenantQuery(this.dataSource.getRepository(ConsentEvent), tenantId, 'e')
        .andWhere('e.subscriber_id = :id', { id })
        .orderBy('e.id', 'ASC')
        .getMany(),
      tenantQuery(this.dataSource.getRepository(InboundMessage), tenantId, 'm')
        .andWhere('m.channel_id = :channelId', { channelId: subscriber.channelId })
        .andWhere('(m.subscriber_id = :id OR (m.from_phone IS NOT NULL AND m.from_phone = :phone) OR (m.from_user_id IS NOT NULL AND m.from_user_id = :userId))', {
          id,
          phone: subscriber.phone ?? '',
          userId: subscriber.userId ?? '',
        })
        .orderBy('m.received_at', 'ASC')
        .getMany(),
      this.dataSource.query(
        `SELECT campaign_id AS "campaignId", option_index AS "optionIndex", answered_at AS "answeredAt" FROM poll_votes WHERE tenant_id = $1 AND subscriber_id = $2 ORDER BY answered_at`,
        [tenantId, id],
      ) as Promise<{ campaignId: string; optionIndex: number; answeredAt: Date }[]>,
      this.dataSource.query(
        `SELECT d.campaign_id AS "campaignId", c.title AS "campaignTitle", d.status, d.reason, d.error_code AS "errorCode",
                d.created_at AS "createdAt", d.sent_at AS "sentAt", d.delivered_at AS "deliveredAt", d.read_at AS "readAt", d.failed_at AS "failedAt"
           FROM deliveries d JOIN campaigns c ON c.tenant_id = d.tenant_id AND c.id = d.campaign_id
          WHERE d.tenant_id = $1 AND d.subscriber_id = $2 ORDER BY d.created_at, d.id`,
        [tenantId, id],
      ) as Promise<SubscriberDelivery[]>,
    ]);
    return { subscriber: view, consentHistory, inboundMessages, pollVotes, deliveries };
  }

  async view(tenantId: TenantId, subscriber: Subscriber, manager?: EntityManager): Promise<SubscriberView> {
    const keys = await this.topicKeys(tenantId, [subscriber.id], manager);
    return { subscriber, topics: keys.get(subscriber.id) ?? [] };
  }

  async setTopics(manager: EntityManager, tenantId: TenantId | string, subscriberId: string, topicIds: string[]): Promise<void> {
    await manager.query(`DELETE FROM subscriber_topics WHERE tenant_id = $1 AND subscriber_id = $2 AND NOT (topic_id = ANY($3::uuid[]))`, [tenantId, subscriberId, topicIds]);
    if (topicIds.length) {
      await manager
        .createQueryBuilder()
        .insert()
        .into(SubscriberTopic)
        .values(topicIds.map((topicId) => ({ tenantId, subscriberId, topicId })))
        .orIgnore()
        .execute();
    }
  }

  async topicKeys(tenantId: TenantId | string, subscriberIds: string[], manager?: EntityManager): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>();
    if (subscriberIds.length === 0) return result;
    const rows = (await (manager ?? this.dataSource.manager).query(
      `SELECT st.subscriber_id AS id, t.key FROM subscriber_topics st JOIN topics t ON t.id = st.topic_id
        WHERE st.tenant_id = $1 AND st.subscriber_id = ANY($2::uuid[]) ORDER BY t.key`,
      [tenantId, subscriberIds],
    )) as { id: string; key: string }[];
    for (const row of rows) result.set(row.id, [...(result.get(row.id) ?? []), row.key]);
    return result;
  }
}

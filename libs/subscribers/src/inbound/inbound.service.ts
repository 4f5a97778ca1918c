import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { asTenantId, Clock, TenantId } from '@app/core';
import { Channel, ChannelSettings, matchKeyword, renderChannelText, resolveSettings } from '@app/channels';
import { OptOutWatch } from '@app/delivery';
import { QueueName, QueueProducer } from '@app/queue';
import { TenantStatus, TenantsService } from '@app/tenants';
import { DeliveryStatusesJob, InboundMessageEvent, StatusEvent, UserPreferenceEvent, WebhookChange } from '@app/whatsapp';
import { ConsentLog } from '../consent-log';
import { waIdToE164 } from '../phone';
import { ConsentSource, Subscriber, SubscriberStatus } from '../subscriber.entity';
import { SubscribersRepository } from '../subscribers.repository';
import { SubscribersService } from '../subscribers.service';
import { parsePollReply } from './poll-reply';
import { DueReply, ReplyOutbox } from './reply-outbox';

const AUTO_REPLY_INTERVAL_MS = 24 * 3600 * 1000;
/** The customer-service window a citizen's message opens (whatsapp-cloud-api.md): free-form answers only within it. */
const REPLY_WINDOW_MS = 24 * 3600 * 1000;

/** Meta re-delivers a webhook for up to 7 days (whatsapp-cloud-api.md §6.5). */
const REDELIVERY_HORIZON_MS = 7 * 24 * 3600 * 1000;

type Handling = 'subscribe' | 'unsubscribe' | 'poll_vote' | 'reaction' | 'button_reply' | 'system' | 'question';

interface Sender {
  phone: string | null;
  waId: string | null;
  userId: string | null;
  name: string | null;
}

/**
 * What happens when a citizen writes to a channel (issue 3 §5): keywords subscribe and
 * unsubscribe, poll answers are counted, reactions and replies are linked to the campaign they
 * answer, anything else gets the automatic answer (at most once a day) and waits in the inbox.
 * Each message is handled once: the unique (channel_id, provider_message_id) claims it.
 */
@Injectable()
export class InboundService {
  private readonly logger = new Logger(InboundService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly subscribers: SubscribersRepository,
    private readonly subscribersService: SubscribersService,
    private readonly consent: ConsentLog,
    private readonly tenants: TenantsService,
    private readonly producer: QueueProducer,
    private readonly clock: Clock,
    private readonly outbox: ReplyOutbox,
    private readonly optOuts: OptOutWatch,
  ) {}

  /** The ids of erased people's messages are kept as long as Meta's raw events are (retention). */
  async purgeErasedMessageIdsOlderThan(days: number): Promise<void> {
    await this.dataSource.query(`DELETE FROM erased_inbound_messages WHERE erased_at < now() - make_interval(days => $1)`, [days]);
  }

  /** One change routed to `channel`: statuses go to the delivery engine, messages are handled here. */
  async handleChange(channel: Channel, change: WebhookChange, eventId: string): Promise<void> {
    for (const message of change.messages) await this.handleMessage(channel, message);
    for (const preference of change.userPreferences) await this.handlePreference(channel, preference);
    if (change.errors.length) this.logger.warn(`channel ${channel.id}: WhatsApp reported errors ${change.errors.map((e) => e.code).join(',')}`);
    if (change.statuses.length) await this.forwardStatuses(channel, change.statuses, `${eventId}:${change.wabaId ?? ''}:${change.statuses[0].wamid}:${change.statuses.length}`);
  }

  async forwardStatuses(channel: Channel, statuses: StatusEvent[], key: string): Promise<void> {
    const job: DeliveryStatusesJob = { tenantId: channel.tenantId, channelId: channel.id, statuses };
    await this.producer.enqueue(QueueName.DeliveryStatuses, { name: 'apply-statuses', data: job, options: { jobId: `statuses:${channel.id}:${key}` } });
  }

  async handleMessage(channel: Channel, message: InboundMessageEvent): Promise<void> {
    const tenantId = asTenantId(channel.tenantId);
    const settings = resolveSettings(channel);
    const sender: Sender = { phone: waIdToE164(message.fromWaId), waId: message.fromWaId, userId: message.fromUserId, name: message.profileName };
    if (!sender.phone && !sender.userId) {
      this.logger.warn(`channel ${channel.id}: inbound ${message.wamid} without a sender, ignored`);
      return;
    }
    // Read before the transaction: inside it, every query goes through its own connection.
    const tenant = await this.tenants.get(tenantId);
    const comuneName = tenant.name;
    // Answers are written to the outbox with the handling and sent once it is committed, never from
    // inside the transaction: a send there held a connection and the citizen's lock for Meta's
    // round trip, and a failure after it (the commit, a lost connection) retried the job and sent
    // the answer twice. The outbox tries again whatever failed after the commit.
    const replies: string[] = [];
    let written: DueReply[] = [];
    /** the subscribers who left with this message: announced to dispatch once committed */
    const left: string[] = [];
    await this.dataSource.transaction(async (manager) => {
      // One citizen's messages are handled one at a time (webhook events are processed in
      // parallel): "at most one automatic answer a day" and subscribe/unsubscribe must not race.
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`inbound:${channel.id}:${sender.phone ?? sender.userId}`]);
      const handling = this.classify(message, settings);
      const poll = parsePollReply(message.replyId);
      const campaignId = poll
        ? await this.campaignOfTenant(manager, tenantId, poll.campaignId)
        : message.contextWamid
          ? await this.campaignOfMessage(manager, tenantId, message.contextWamid)
          : null;
      const inboundId = await this.claim(manager, channel, message, sender, campaignId, handling);
      if (!inboundId) return; // already handled: a re-delivery
      let subscriber = await this.subscribers.findByContact(tenantId, channel.id, sender, manager);
      let handledAs: string = handling;
      // Meta may deliver a citizen's messages out of order (a re-delivery after a later one): a
      // keyword older than the citizen's opposite decision, already applied, changes nothing.
      // Every record of this person on the channel: one known by phone (an import, the API) and
      // one by Meta's user id (a keyword from a username) are the same citizen.
      const consent = handling === 'subscribe' || handling === 'unsubscribe' ? handling : null;
      const records = subscriber && consent ? [subscriber, ...(await this.sameCitizen(manager, tenantId, channel.id, subscriber, sender))] : [];
      if (subscriber && consent && (await this.isOutdated(manager, tenantId, channel.id, subscriber, records, consent, message.occurredAt))) {
        await this.touch(manager, subscriber, sender, this.windowOpenedAt(message.occurredAt));
        await manager.query(`UPDATE inbound_messages SET subscriber_id = $2, handled_as = 'outdated' WHERE id = $1`, [inboundId, subscriber.id]);
        return;
      }
      switch (handling) {
        case 'subscribe': {
          const joined = await this.subscribe(manager, channel, settings, subscriber, sender, message);
          subscriber = joined.subscriber;
          // Already following: no new consent, and a short answer instead of the welcome again.
          if (joined.changed) {
            replies.push(renderChannelText(settings.welcomeText, settings, comuneName));
          } else {
            replies.push(renderChannelText(settings.alreadySubscribedText, settings, comuneName));
            handledAs = 'already_subscribed';
          }
          break;
        }
        case 'unsubscribe':
          // An active subscriber leaves with the goodbye. A web signup not confirmed yet is withdrawn
          // (the number's owner said no: it is recorded, and nothing is left to confirm) and told
          // they are not subscribed, as is anyone unknown or gone already (no consent event).
          // Every record of this person on the channel leaves.
          const leaving = records.some((record) => record.status === SubscriberStatus.Active);
          // unsubscribe() records a pending signup as withdrawn and does nothing for one gone already.
          for (const record of records) if (await this.unsubscribe(manager, record, 'keyword', message.wamid, message.occurredAt)) left.push(record.id);
          replies.push(renderChannelText(leaving ? settings.goodbyeText : settings.notSubscribedText, settings, comuneName));
          if (!leaving) handledAs = 'not_subscribed';
          break;
        case 'poll_vote':
          if (!(subscriber && poll && campaignId && (await this.recordPollVote(manager, tenantId, campaignId, subscriber, poll.optionIndex, message)))) {
            handledAs = 'poll_vote_ignored';
          }
          break;
        case 'system':
          if (subscriber) await this.applySystemChange(manager, tenantId, channel, subscriber, message);
          break;
        case 'question':
          if (await this.mayAutoReply(manager, tenantId, channel, sender)) {
            replies.push(renderChannelText(settings.autoReplyText, settings, comuneName));
            handledAs = 'auto_reply';
            if (subscriber) await manager.query(`UPDATE subscribers SET last_auto_reply_at = $2 WHERE id = $1`, [subscriber.id, this.clock.now()]);
          }
          break;
        default:
          break;
      }
      if (subscriber) await this.touch(manager, subscriber, sender, this.windowOpenedAt(message.occurredAt));
      await manager.query(`UPDATE inbound_messages SET subscriber_id = $2, handled_as = $3 WHERE id = $1`, [inboundId, subscriber?.id ?? null, handledAs]);
      // The citizen's message opened a 24-hour window: a free-form answer cannot go after it (nor
      // at all, for a message Meta delivers a day late: the outbox gives it up at once).
      const windowEndsAt = new Date(new Date(this.windowOpenedAt(message.occurredAt)).getTime() + REPLY_WINDOW_MS);
      // A comune awaiting approval or suspended cannot send (CONTRACT): the answer waits in the
      // outbox, and goes if the comune is active again within the window (approved the next morning).
      const held = tenant.status !== TenantStatus.Active;
      if (replies.length > 0 && held) this.logger.log(`channel ${channel.id}: answer held, the comune is ${tenant.status}`);
      written = await this.outbox.add(manager, channel, sender, replies, windowEndsAt, held);
    });
    if (left.length > 0) await this.optOuts.announce(tenantId, left);
    await this.outbox.sendNow(channel, written);
  }

  private classify(message: InboundMessageEvent, settings: ChannelSettings): Handling {
    switch (message.kind) {
      case 'text':
        return matchKeyword(message.text, settings) ?? 'question';
      case 'quick_reply':
      case 'button_reply':
      case 'list_reply':
        if (parsePollReply(message.replyId)) return 'poll_vote';
        return matchKeyword(message.replyId, settings) ?? matchKeyword(message.text, settings) ?? 'button_reply';
      case 'reaction':
        return 'reaction';
      case 'system':
        return 'system';
      default:
        return 'question';
    }
  }

  /**
   * Inserts the inbound row unless this message was already seen (it is there, or an erasure
   * deleted it and kept its id); returns its id when new.
   */
  private async claim(manager: EntityManager, channel: Channel, message: InboundMessageEvent, sender: Sender, campaignId: string | null, handling: Handling): Promise<string | null> {
    const rows = (await manager.query(
      `INSERT INTO inbound_messages (tenant_id, channel_id, provider_message_id, type, from_phone, from_user_id, text, context_message_id, campaign_id, payload, handled_as, received_at)
       SELECT $1::uuid, $2::uuid, $3::varchar, $4::varchar, $5::varchar, $6::varchar, $7::text, $8::varchar, $9::uuid, $10::jsonb, $11::varchar, $12::timestamptz
        WHERE NOT EXISTS (SELECT 1 FROM erased_inbound_messages e WHERE e.channel_id = $2 AND e.provider_message_id = $3)
       ON CONFLICT (channel_id, provider_message_id) DO NOTHING RETURNING id`,
      [
        channel.tenantId,
        channel.id,
        message.wamid,
        message.kind === 'other' ? message.type.slice(0, 32) : message.kind,
        sender.phone,
        sender.userId,
        message.text ?? message.emoji ?? message.replyId,
        message.contextWamid,
        campaignId,
        JSON.stringify(message.raw),
        handling,
        message.occurredAt,
      ],
    )) as { id: string }[];
    return rows[0]?.id ?? null;
  }

  /** Subscribes the sender (new, back after leaving, or confirming a web signup); `changed` is false when they were active already. */
  private async subscribe(
    manager: EntityManager,
    channel: Channel,
    settings: ChannelSettings,
    existing: Subscriber | null,
    sender: Sender,
    message: InboundMessageEvent,
  ): Promise<{ subscriber: Subscriber; changed: boolean }> {
    const tenantId = asTenantId(channel.tenantId);
    const now = this.clock.now();
    let subscriber = existing;
    let changed = true;
    let signedUpBy: ConsentSource | null = null;
    if (!subscriber) {
      subscriber = await this.subscribers.insert(
        tenantId,
        {
          channelId: channel.id,
          phone: sender.phone,
          waId: sender.waId,
          userId: sender.userId,
          name: sender.name,
          status: SubscriberStatus.Active,
          consentSource: ConsentSource.Keyword,
          subscribedAt: now,
        },
        manager,
      );
    } else if (subscriber.status !== SubscriberStatus.Active) {
      // Confirming a web-form signup keeps where the signup came from (the analytics by source
      // count it there); coming back after leaving is a new consent given by the keyword.
      signedUpBy = subscriber.status === SubscriberStatus.Pending ? subscriber.consentSource : null;
      subscriber.status = SubscriberStatus.Active;
      subscriber.consentSource = signedUpBy ?? ConsentSource.Keyword;
      subscriber.subscribedAt = now;
      subscriber.unsubscribedAt = null;
      subscriber.name ??= sender.name;
      subscriber = await this.subscribers.save(tenantId, subscriber, manager);
    } else {
      changed = false;
    }
    // Topics asked for on the web form since they last subscribed: the keyword confirms them.
    if (existing) await this.grantRequestedTopics(manager, tenantId, subscriber.id);
    if (changed) {
      await this.consent.record(manager, {
        tenantId,
        channelId: channel.id,
        subscriberId: subscriber.id,
        action: 'subscribed',
        source: ConsentSource.Keyword,
        messageId: message.wamid,
        privacyNoticeVersion: settings.privacyNoticeVersion,
        details: { text: message.text ?? message.replyId, sentAt: message.occurredAt, ...(signedUpBy ? { confirms: signedUpBy } : {}) },
        occurredAt: now,
      });
      await this.consent.lift(manager, tenantId, channel.id, this.subscribersService.contactHashes(sender));
    }
    return { subscriber, changed };
  }

  /**
   * Adds the topics of the web-form requests recorded since the subscriber's last subscription
   * (a form filled in for a number already known changes nothing until its owner confirms).
   */
  private async grantRequestedTopics(manager: EntityManager, tenantId: TenantId, subscriberId: string): Promise<void> {
    await manager.query(
      `INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id)
       SELECT DISTINCT $1::uuid, $2::uuid, t.id
         FROM consent_events e
         CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.details->'topics') = 'array' THEN e.details->'topics' ELSE '[]'::jsonb END) AS k(key)
         JOIN topics t ON t.tenant_id = e.tenant_id AND t.key = k.key
        WHERE e.tenant_id = $1 AND e.subscriber_id = $2 AND e.action = 'requested'
          AND e.id > COALESCE((SELECT max(s.id) FROM consent_events s WHERE s.tenant_id = $1 AND s.subscriber_id = $2 AND s.action = 'subscribed'), 0)
       ON CONFLICT DO NOTHING`,
      [tenantId, subscriberId],
    );
  }

  /**
   * Counts a poll answer, last answer winning, only from a citizen the poll went to: the delivery
   * the reply's context names must be this campaign's to this subscriber, and a reply without
   * context (a payload naming the campaign) needs a sent delivery of it to them; the option must be
   * one the poll has (for a template campaign, one of its quick-reply buttons). Returns whether the vote counted.
   */
  private async recordPollVote(manager: EntityManager, tenantId: TenantId, campaignId: string, subscriber: Subscriber, optionIndex: number, message: InboundMessageEvent): Promise<boolean> {
    const rows = (await manager.query(
      // Only a citizen the poll went to, and only for one of its options: an index it does not
      // have (a forged or stale button) is ignored and leaves their earlier answer in place.
      `WITH recipient AS (
         SELECT 1 FROM deliveries d
           JOIN campaigns c ON c.tenant_id = d.tenant_id AND c.id = d.campaign_id
          WHERE d.tenant_id = $1 AND d.campaign_id = $2 AND d.subscriber_id = $3 AND d.provider_message_id IS NOT NULL
            AND ($6::text IS NULL OR d.provider_message_id = $6::text)
            -- a poll's options, or a template's quick-reply buttons (as last synced)
            AND $4::int >= 0 AND $4::int < CASE c.message->>'type'
              WHEN 'poll' THEN jsonb_array_length(c.message->'options')
              WHEN 'template' THEN (SELECT jsonb_array_length(mt.quick_replies) FROM channels ch
                  JOIN message_templates mt ON mt.tenant_id = ch.tenant_id AND mt.waba_id = ch.waba_id
                   AND mt.name = c.message->'template'->>'name' AND mt.language = c.message->'template'->>'language'
                 WHERE ch.tenant_id = c.tenant_id AND ch.id = c.channel_id AND jsonb_typeof(mt.quick_replies) = 'array')
              ELSE 0 END
       ), vote AS (
         INSERT INTO poll_votes (tenant_id, campaign_id, subscriber_id, option_index, answered_at)
         SELECT $1::uuid, $2::uuid, $3::uuid, $4::smallint, $5::timestamptz FROM recipient
         ON CONFLICT (tenant_id, campaign_id, subscriber_id)
         DO UPDATE SET option_index = EXCLUDED.option_index, answered_at = EXCLUDED.answered_at WHERE poll_votes.answered_at <= EXCLUDED.answered_at
       )
       SELECT EXISTS (SELECT 1 FROM recipient) AS counted`,
      [tenantId, campaignId, subscriber.id, optionIndex, message.occurredAt, message.contextWamid],
    )) as { counted: boolean }[];
    return rows[0]?.counted === true;
  }

  /** Records the opt-out; answers whether it changed anything (false for someone gone already). */
  private async unsubscribe(manager: EntityManager, subscriber: Subscriber, source: string, messageId: string | null, sentAt: string, details?: Record<string, unknown>): Promise<boolean> {
    if (subscriber.status === SubscriberStatus.Unsubscribed) return false;
    const now = this.clock.now();
    // A signup never confirmed is withdrawn rather than counted as someone who left.
    const action = subscriber.status === SubscriberStatus.Pending ? 'withdrawn' : 'unsubscribed';
    subscriber.status = SubscriberStatus.Unsubscribed;
    subscriber.unsubscribedAt = now;
    await this.subscribers.save(asTenantId(subscriber.tenantId), subscriber, manager);
    await this.consent.record(manager, {
      tenantId: subscriber.tenantId,
      channelId: subscriber.channelId,
      subscriberId: subscriber.id,
      action,
      source,
      messageId,
      details: { ...details, sentAt },
      occurredAt: now,
    });
    return true;
  }

  /**
   * Whether a consent keyword sent at `sentAt` is older than the citizen's opposite decision on
   * this channel, already recorded: an `ATTIVA` sent before a later opt-out (by keyword, in
   * WhatsApp's settings, or by the comune), or a `DISATTIVA` or stop sent before the citizen's
   * own later `ATTIVA`. The citizen's latest word stands. Only the citizen's own keyword outweighs
   * an opt-out: a later import or API call does not make an earlier `DISATTIVA` outdated. Decisions
   * in the same second (Meta's timestamps have no finer grain) keep their arrival order, as does a
   * keyword written more than REDELIVERY_HORIZON_MS before it arrived: Meta stops re-delivering an
   * event after 7 days, so such a message is no late copy, and its time says nothing of its order.
   */
  private async isOutdated(manager: EntityManager, tenantId: TenantId, channelId: string, found: Subscriber, records: Subscriber[], handling: 'subscribe' | 'unsubscribe', sentAt: string): Promise<boolean> {
    if (handling === 'subscribe' && found.status === SubscriberStatus.Active) return false;
    if (this.clock.now().getTime() - new Date(sentAt).getTime() > REDELIVERY_HORIZON_MS) return false;
    const decisions = await this.consent.latestDecisions(manager, tenantId, channelId, records.map((record) => record.id));
    const decidedAt = handling === 'subscribe' ? decisions.leftAt : decisions.joinedByKeywordAt;
    return decidedAt != null && new Date(decidedAt).getTime() > new Date(sentAt).getTime();
  }

  /** `user_preferences`: a citizen who stops the business's messages in WhatsApp is unsubscribed. */
  async handlePreference(channel: Channel, preference: UserPreferenceEvent): Promise<void> {
    if (preference.value !== 'stop') {
      this.logger.log(`channel ${channel.id}: user preference "${preference.value}" noted; a new subscription needs the keyword`);
      return;
    }
    const left: string[] = [];
    const tenantId = asTenantId(channel.tenantId);
    await this.dataSource.transaction(async (manager) => {
      const contact = { phone: waIdToE164(preference.waId), userId: preference.userId };
      const subscriber = await this.subscribers.findByContact(tenantId, channel.id, contact, manager);
      const records = subscriber ? [subscriber, ...(await this.sameCitizen(manager, tenantId, channel.id, subscriber, contact))] : [];
      if (subscriber && (await this.isOutdated(manager, tenantId, channel.id, subscriber, records, 'unsubscribe', preference.occurredAt))) {
        this.logger.log(`channel ${channel.id}: a WhatsApp stop older than the citizen's later subscription, not applied`);
        return;
      }
      for (const record of records) {
        if (await this.unsubscribe(manager, record, 'user_prefs', null, preference.occurredAt, { category: preference.category, value: preference.value })) left.push(record.id);
      }
    });
    if (left.length > 0) await this.optOuts.announce(channel.tenantId, left);
  }

  /**
   * The channel's other subscribers of the citizen who wrote: the one known by the phone they
   * wrote from, or by their Meta user id, when it is not the one found first (a citizen known
   * twice: by phone from an import or the API, and by user id from a keyword sent from a username).
   */
  private async sameCitizen(manager: EntityManager, tenantId: TenantId, channelId: string, found: Subscriber, contact: { phone?: string | null; userId?: string | null }): Promise<Subscriber[]> {
    const others: Subscriber[] = [];
    for (const identity of [{ phone: contact.phone }, { userId: contact.userId }]) {
      if (!identity.phone && !identity.userId) continue;
      const other = await this.subscribers.findByContact(tenantId, channelId, identity, manager);
      if (other && other.id !== found.id && !others.some((o) => o.id === other.id)) others.push(other);
    }
    return others;
  }

  /** `system` messages: a changed number or BSUID moves the subscription to the new identity. */
  private async applySystemChange(manager: EntityManager, tenantId: TenantId, channel: Channel, subscriber: Subscriber, message: InboundMessageEvent): Promise<void> {
    const change = message.system;
    if (!change) return;
    if (change.type === 'user_changed_number' && change.newWaId) {
      const phone = waIdToE164(change.newWaId);
      const clash = phone ? await this.subscribers.findByContact(tenantId, channel.id, { phone }, manager) : null;
      if (phone && !clash) {
        subscriber.phone = phone;
        subscriber.waId = change.newWaId;
      }
    } else if (change.type === 'user_changed_user_id' && change.newUserId) {
      const clash = await this.subscribers.findByContact(tenantId, channel.id, { userId: change.newUserId }, manager);
      if (!clash) subscriber.userId = change.newUserId;
    }
    await this.subscribers.save(tenantId, subscriber, manager);
  }

  /** Every message opens the 24-hour window and shows the citizen reachable; the latest identity details are kept. */
  /**
   * When the citizen's message opened their 24-hour window: when they wrote it, as Meta stamps it,
   * but when it arrived for one stamped more than REDELIVERY_HORIZON_MS earlier. Meta stops
   * re-delivering an event after 7 days: such a time is no late copy's and says nothing (a replay,
   * a sender's clock gone wrong), as isOutdated reads it too.
   */
  private windowOpenedAt(occurredAt: string): string {
    const now = this.clock.now();
    return now.getTime() - new Date(occurredAt).getTime() > REDELIVERY_HORIZON_MS ? now.toISOString() : occurredAt;
  }

  private async touch(manager: EntityManager, subscriber: Subscriber, sender: Sender, occurredAt: string): Promise<void> {
    await manager.query(
      `UPDATE subscribers s SET
         last_inbound_at = GREATEST(COALESCE(s.last_inbound_at, $2::timestamptz), $2::timestamptz),
         -- A citizen who writes is reachable again (a failure reported after their message stays).
         undeliverable_since = CASE WHEN s.undeliverable_since <= $2::timestamptz THEN NULL ELSE s.undeliverable_since END,
         wa_id = CASE WHEN s.phone IS NOT NULL AND $3::text IS NOT NULL AND s.phone = '+' || $3::text THEN $3::text ELSE s.wa_id END,
         user_id = CASE WHEN s.user_id IS NULL AND $4::text IS NOT NULL AND NOT EXISTS (
                     SELECT 1 FROM subscribers o WHERE o.tenant_id = s.tenant_id AND o.channel_id = s.channel_id AND o.user_id = $4::text)
                   THEN $4::text ELSE s.user_id END,
         updated_at = now()
       WHERE s.id = $1`,
      [subscriber.id, occurredAt, sender.waId, sender.userId],
    );
  }

  private async mayAutoReply(manager: EntityManager, tenantId: TenantId, channel: Channel, sender: Sender): Promise<boolean> {
    const since = new Date(this.clock.now().getTime() - AUTO_REPLY_INTERVAL_MS);
    const rows = (await manager.query(
      `SELECT 1 FROM inbound_messages WHERE tenant_id = $1 AND channel_id = $2 AND handled_as = 'auto_reply' AND created_at > $3
         AND (($4::text IS NOT NULL AND from_phone = $4) OR ($5::text IS NOT NULL AND from_user_id = $5)) LIMIT 1`,
      [tenantId, channel.id, since, sender.phone, sender.userId],
    )) as unknown[];
    return rows.length === 0;
  }

  private async campaignOfMessage(manager: EntityManager, tenantId: TenantId, wamid: string): Promise<string | null> {
    const rows = (await manager.query(`SELECT campaign_id FROM deliveries WHERE provider_message_id = $1 AND tenant_id = $2 LIMIT 1`, [wamid, tenantId])) as { campaign_id: string }[];
    return rows[0]?.campaign_id ?? null;
  }

  private async campaignOfTenant(manager: EntityManager, tenantId: TenantId, campaignId: string): Promise<string | null> {
    const rows = (await manager.query(`SELECT id FROM campaigns WHERE id = $1 AND tenant_id = $2`, [campaignId, tenantId])) as { id: string }[];
    return rows[0]?.id ?? null;
  }
}

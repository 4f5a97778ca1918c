import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { Channel, ChannelMessenger } from '@app/channels';
import { AppConfig, Clock, counter } from '@app/core';
import { replyCallbackData, SendThrottle, SendThrottleClosedError } from '@app/delivery';
import { ErrorDisposition, GraphApiError } from '@app/whatsapp';

/** Whom an answer goes to: the citizen's number, or their business-scoped user id when WhatsApp hides the number. */
export interface ReplyRecipient {
  phone: string | null;
  userId: string | null;
}

/** An answer taken for a try (written, or due again), under its lease. */
export interface DueReply {
  id: string;
  channel_id: string;
  to_phone: string | null;
  to_user_id: string | null;
  body: string;
  attempts: number;
}

/** How long the writer of a reply holds it for its first try before the sweep may take it (s). */
const LEASE_SECONDS = 30;
/** Waits after the n-th failed try (the last one repeats), within the citizen's 24-hour window. */
const RETRY_AFTER_SECONDS = [2, 10, 30, 120, 300, 900, 1800, 3600];
/** Tries before an answer is given up, whatever its window. */
export const MAX_REPLY_ATTEMPTS = 20;
const SWEEP_BATCH = 50;

const replies = counter({ name: 'reply_outbox_total', help: 'Answers to citizens by outcome', labelNames: ['outcome'] as const });

/**
 * The answers to citizens (welcome, goodbye, automatic answer) as an outbox: written in the
 * transaction that handles the citizen's message, tried once right after it commits, and swept
 * again by the worker until sent, refused for good, or past the citizen's 24-hour window (a
 * free-form answer cannot go later). So a Meta outage or a worker dying after the commit delays an
 * answer but does not lose it. Each try takes a slot of the number's rate ahead of campaigns.
 */
@Injectable()
export class ReplyOutbox {
  private readonly logger = new Logger(ReplyOutbox.name);
  private sweeping = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(Channel) private readonly channels: Repository<Channel>,
    private readonly messenger: ChannelMessenger,
    private readonly throttle: SendThrottle,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Writes the answers in the caller's transaction, held by the caller for its first try (sendNow,
   * once committed). Answers whose window has closed already (the citizen's message reached us a
   * day late) are written given up, and not returned: WhatsApp would refuse them. `held`: the comune
   * cannot send now (awaiting approval, suspended); the answers wait for the sweep, which sends them
   * once it is active again within the citizen's window, and are not returned for a first try.
   */
  async add(manager: EntityManager, channel: Channel, to: ReplyRecipient, bodies: string[], windowEndsAt: Date, held = false): Promise<DueReply[]> {
    if (bodies.length === 0) return [];
    const rows = (await manager.query(
      `INSERT INTO reply_outbox (tenant_id, channel_id, to_phone, to_user_id, body, attempts, next_attempt_at, expires_at, given_up_at, last_error)
       SELECT $1, $2, $3, $4, body, CASE WHEN $9 THEN 0 ELSE 1 END, now() + make_interval(secs => CASE WHEN $9 THEN 0 ELSE $6 END), $7,
              CASE WHEN $8 THEN now() END, CASE WHEN $8 THEN '(the 24-hour window had closed when the message arrived)' END
         FROM unnest($5::text[]) WITH ORDINALITY AS b(body, n) ORDER BY n
       RETURNING id::text AS id, channel_id, to_phone, to_user_id, body, attempts, given_up_at IS NOT NULL AS expired`,
      [channel.tenantId, channel.id, to.phone, to.userId, bodies, LEASE_SECONDS, windowEndsAt, windowEndsAt.getTime() <= this.clock.now().getTime(), held],
    )) as (DueReply & { expired: boolean })[];
    const expired = rows.filter((row) => row.expired).length;
    if (expired > 0) {
      replies.inc({ outcome: 'expired' }, expired);
      this.logger.warn(`${expired} answer(s) to a citizen not sent: their message arrived after its 24-hour window had closed`);
    }
    return held ? [] : rows.filter((row) => !row.expired).map(({ expired: _expired, ...row }) => row);
  }

  /** The first try of answers just committed, in order. */
  async sendNow(channel: Channel, written: DueReply[]): Promise<void> {
    for (const row of written) await this.attempt(channel, row);
  }

  /**
   * One pass: gives up answers past their window, then takes the due ones (of active comuni, on
   * active channels) under a fresh lease and tries them. One pass at a time per process; several
   * workers never take the same answer (SKIP LOCKED, then the lease).
   */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      // TypeORM answers an UPDATE with [rows, count].
      const [, expiredCount] = (await this.dataSource.query(
        `UPDATE reply_outbox SET given_up_at = now(), last_error = concat_ws(' ', last_error, '(the 24-hour window closed)')
          WHERE sent_at IS NULL AND given_up_at IS NULL AND expires_at <= now()`,
      )) as [unknown[], number];
      if (expiredCount > 0) {
        replies.inc({ outcome: 'expired' }, expiredCount);
        this.logger.warn(`${expiredCount} answer(s) to citizens given up: the 24-hour window closed before they could be sent`);
      }
      const [due] = (await this.dataSource.query(
        `WITH due AS (
           SELECT r.id FROM reply_outbox r
             JOIN channels c ON c.id = r.channel_id AND c.status = 'active'
             JOIN tenants t ON t.id = r.tenant_id AND t.status = 'active'
            WHERE r.sent_at IS NULL AND r.given_up_at IS NULL AND r.next_attempt_at <= now()
            ORDER BY r.next_attempt_at LIMIT $1
            FOR UPDATE OF r SKIP LOCKED
         )
         UPDATE reply_outbox r SET attempts = r.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
           FROM due WHERE r.id = due.id
         RETURNING r.id::text AS id, r.channel_id, r.to_phone, r.to_user_id, r.body, r.attempts`,
        [SWEEP_BATCH, LEASE_SECONDS],
      )) as [DueReply[], number];
      if (due.length === 0) return 0;
      const channels = new Map((await this.channels.findBy({ id: In([...new Set(due.map((row) => row.channel_id))]) })).map((c) => [c.id, c]));
      for (const row of due.sort((a, b) => Number(a.id) - Number(b.id))) {
        const channel = channels.get(row.channel_id);
        if (channel) await this.attempt(channel, row);
      }
      return due.length;
    } finally {
      this.sweeping = false;
    }
  }

  /** One try of one answer, its outcome recorded: sent, refused for good, or due again after a wait. */
  private async attempt(channel: Channel, row: DueReply): Promise<void> {
    try {
      await this.throttle.acquire(channel.id, channel.messagesPerSecond, 1, true);
      const result = await this.messenger.send(channel, {
        to: row.to_phone,
        recipientUserId: row.to_phone ? null : row.to_user_id,
        message: { type: 'text', text: row.body, previewUrl: false },
        // Meta's status webhooks name the answer: one whose send answer was lost is settled by them.
        callbackData: replyCallbackData(row.id),
      });
      await this.dataSource.query(`UPDATE reply_outbox SET sent_at = now(), provider_message_id = $2, last_error = NULL WHERE id = $1`, [row.id, result.wamid]);
      replies.inc({ outcome: 'sent' });
    } catch (error) {
      // Shutting down: the lease lapses and another worker (or this one, restarted) sends it.
      if (error instanceof SendThrottleClosedError) return;
      const graph = error instanceof GraphApiError ? error : null;
      const detail = `${graph?.code ?? 'error'}: ${(error as Error).message}`.slice(0, 500);
      const permanent = graph !== null && graph.disposition === ErrorDisposition.Permanent;
      if (permanent || row.attempts >= MAX_REPLY_ATTEMPTS) {
        await this.dataSource.query(`UPDATE reply_outbox SET given_up_at = now(), last_error = $2 WHERE id = $1`, [row.id, detail]);
        replies.inc({ outcome: 'given_up' });
        this.logger.warn(`channel ${channel.id}: answer to a citizen given up (${detail})`);
        return;
      }
      // An answer lost on its way back may hide a message Meta created: its status webhook is awaited before a resend.
      const backoff = RETRY_AFTER_SECONDS[Math.min(row.attempts, RETRY_AFTER_SECONDS.length) - 1];
      const wait = graph?.uncertain ? Math.max(backoff, this.config.delivery.uncertainHoldSeconds) : backoff;
      await this.dataSource.query(`UPDATE reply_outbox SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3 WHERE id = $1`, [row.id, wait, detail]);
      replies.inc({ outcome: 'retry' });
    }
  }

  /** Sent and given-up answers older than the retention (with the webhook events they answered). */
  async purgeOlderThan(days: number): Promise<void> {
    await this.dataSource.query(`DELETE FROM reply_outbox WHERE created_at < now() - make_interval(days => $1) AND (sent_at IS NOT NULL OR given_up_at IS NOT NULL)`, [days]);
  }
}

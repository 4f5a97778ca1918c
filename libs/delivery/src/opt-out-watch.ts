import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AppConfig, Clock } from '@app/core';

/** How long after it was announced an opt-out is remembered by the watchers (far longer than any claim lease). */
const REMEMBER_MS = 10 * 60_000;
/** Entries the shared log keeps (the newest): opt-outs of the last minutes, whatever the rate. */
const LOG_ENTRIES = 100_000;
/** The longest an opt-out waits for dispatch jobs to let go of the deliveries they hold for that person. */
export const OPT_OUT_SETTLE_MS = 5_000;

/**
 * Opt-outs that reach dispatch jobs between their claim and their hand-over to WhatsApp. A claim
 * checks that each subscriber is still active, but its messages then wait for the number's send
 * slots (a second or more on a slow number): a citizen who leaves meanwhile, by keyword, by STOP,
 * through the comune or by erasure, must receive nothing once the opt-out is processed
 * (issue 4). So each opt-out is announced after its commit: in Redis, a sequence-numbered log that
 * every worker reads every POLL_MS while it has messages waiting (one cheap call, no database);
 * embedded, in this process's memory. Dispatch asks isOptedOut() before each hand-over. The
 * opt-out itself then waits (settle) until no dispatch job holds a delivery for that person, so
 * that once it is answered nothing more goes out to them. An opt-out is known with the time it was
 * announced: it stops only deliveries claimed for a subscription older than that, never those of a
 * citizen who has come back since (whenever this process read the log: a worker that starts
 * reads the opt-outs of the last day).
 */
@Injectable()
export class OptOutWatch implements OnModuleDestroy {
  static readonly POLL_MS = 50;
  private readonly logger = new Logger(OptOutWatch.name);
  private readonly redis: Redis | null;
  private readonly sequenceKey: string;
  private readonly logKey: string;
  /** subscriber id -> when the opt-out was announced (ms, the announcing process's Clock: the one subscriptions are dated by) */
  private readonly optedOut = new Map<string, number>();
  private lastSequence = 0;
  private watchers = 0;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {
    this.redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: false }) : null;
    this.sequenceKey = `{${config.queuePrefix}}:opt-outs:sequence`;
    this.logKey = `{${config.queuePrefix}}:opt-outs:log`;
    // KEYS[1] sequence, KEYS[2] log (member: "<subscriber id> <announced at, ms>", score: its
    // sequence number). ARGV: the members.
    this.redis?.defineCommand('announceOptOuts', {
      numberOfKeys: 2,
      lua: `
        local last = redis.call('INCRBY', KEYS[1], #ARGV)
        for i = 1, #ARGV do redis.call('ZADD', KEYS[2], last - #ARGV + i, ARGV[i]) end
        redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -${LOG_ENTRIES + 1})
        redis.call('PEXPIRE', KEYS[1], 86400000)
        redis.call('PEXPIRE', KEYS[2], 86400000)
        return last
      `,
    });
  }

  /**
   * Tells every dispatch job that these subscribers left (call after the opt-out is committed),
   * then waits until none of their deliveries is held by one (at most OPT_OUT_SETTLE_MS).
   */
  async announce(tenantId: string, subscriberIds: string[]): Promise<void> {
    if (subscriberIds.length === 0) return;
    // After the commit, so no later than any subscription that comes after this opt-out (dated
    // by the same Clock as subscriptions, which isOptedOut compares it with).
    const announcedAt = this.clock.now().getTime();
    if (this.redis) {
      try {
        const members = subscriberIds.map((id) => `${id} ${announcedAt}`);
        await (this.redis as Redis & { announceOptOuts(...args: string[]): Promise<number> }).announceOptOuts(this.sequenceKey, this.logKey, ...members);
      } catch (error) {
        // The claims still see the opt-out (it is committed); only messages claimed already may go.
        this.logger.warn(`could not announce ${subscriberIds.length} opt-out(s) to the workers: ${(error as Error).message}`);
        return;
      }
    } else {
      for (const id of subscriberIds) this.note(id, announcedAt);
    }
    await this.settle(tenantId, subscriberIds);
  }

  /**
   * Whether this subscriber opted out after the subscription their delivery was claimed for
   * (`subscribedAt` as the claim read it; synchronous: asked before every hand-over).
   */
  isOptedOut(subscriberId: string | null, subscribedAt: Date | null): boolean {
    if (subscriberId === null) return false;
    const announcedAt = this.optedOut.get(subscriberId);
    return announcedAt !== undefined && (subscribedAt === null || announcedAt >= new Date(subscribedAt).getTime());
  }

  private note(subscriberId: string, announcedAt: number): void {
    if (announcedAt > (this.optedOut.get(subscriberId) ?? -Infinity)) this.optedOut.set(subscriberId, announcedAt);
  }

  /** Keeps the log read while a dispatch job has messages to hand over; call the answer when it is done. */
  watch(): () => void {
    this.watchers++;
    this.schedule();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.watchers--;
    };
  }

  /** One read of the shared log now (tests; the timer reads it every POLL_MS while jobs watch). */
  async poll(): Promise<void> {
    const now = this.clock.now().getTime();
    for (const [id, at] of this.optedOut) if (now - at > REMEMBER_MS) this.optedOut.delete(id);
    if (!this.redis || this.polling) return;
    this.polling = true;
    try {
      const entries = await this.redis.zrangebyscore(this.logKey, `(${this.lastSequence}`, '+inf', 'WITHSCORES');
      for (let i = 0; i < entries.length; i += 2) {
        const [id, at] = entries[i].split(' ');
        // (An entry without its time, announced by an older version: taken as of now.)
        const announcedAt = at === undefined ? now : Number(at);
        if (now - announcedAt <= REMEMBER_MS) this.note(id, announcedAt);
        this.lastSequence = Math.max(this.lastSequence, Number(entries[i + 1]));
      }
    } catch (error) {
      this.logger.warn(`could not read the opt-outs: ${(error as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  /** Waits until no dispatch job holds a queued delivery of these subscribers (or OPT_OUT_SETTLE_MS passed). */
  private async settle(tenantId: string, subscriberIds: string[]): Promise<void> {
    const deadline = Date.now() + OPT_OUT_SETTLE_MS;
    for (;;) {
      const held = (await this.dataSource.query(
        `SELECT 1 FROM campaigns c JOIN deliveries d ON d.tenant_id = c.tenant_id AND d.campaign_id = c.id
          WHERE c.tenant_id = $1 AND c.status = 'sending' AND d.subscriber_id = ANY($2::uuid[])
            AND d.status = 'queued' AND d.claimed_until > now()
          LIMIT 1`,
        [tenantId, subscriberIds],
      )) as unknown[];
      if (held.length === 0 || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.watchers === 0) {
        clearInterval(this.timer!);
        this.timer = null;
        return;
      }
      void this.poll();
    }, OptOutWatch.POLL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.redis?.quit().catch(() => undefined);
  }
}

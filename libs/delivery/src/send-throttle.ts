import { Injectable, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '@app/core';

/**
 * Per-number throughput, shared by every worker process: a generic cell-rate (GCRA) reservation
 * in Redis. Each call reserves `count` consecutive send slots on the number's timeline (spaced
 * 1/rate apart) and answers how long to wait until the first one; the caller sends when its slots
 * come. Campaigns of the same number take slots in turn, so they share it fairly; no process can
 * exceed the rate whatever the number of workers. Without Redis (embedded) the timeline lives in
 * memory, which is exact for one process.
 */
@Injectable()
export class SendThrottle implements OnModuleDestroy {
  /** Fraction of the configured rate actually used: keeps a margin below Meta's cap for bursts and clock jitter. */
  static readonly HEADROOM = 0.96;
  /** Slots older than this when their holder wakes up are given up. */
  static readonly MAX_LATENESS_MS = 25;

  private readonly redis: Redis | null;
  private readonly timelines = new Map<string, number>();

  constructor(private readonly config: AppConfig) {
    this.redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: false }) : null;
    this.redis?.defineCommand('reserveSlots', {
      numberOfKeys: 1,
      lua: `
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tat < now then tat = now end
        local after = tat + tonumber(ARGV[1]) * tonumber(ARGV[2])
        redis.call('SET', KEYS[1], tostring(after), 'PX', math.ceil((after - now) / 1000) + 1000)
        return tostring(tat - now)
      `,
    });
  }

  /** Slots a caller should reserve at once: about 5 ms of the number's rate. */
  static groupSize(messagesPerSecond: number): number {
    return Math.max(1, Math.floor((messagesPerSecond * SendThrottle.HEADROOM) / 200));
  }

  /**
   * Reserves `count` slots on the channel's timeline; resolves when the first one is due. A caller
   * that wakes up late (a busy event loop) gives its stale slots up and reserves again rather than
   * firing them in a burst that would exceed the rate.
   */
  async acquire(channelId: string, messagesPerSecond: number, count: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const waitUs = await this.reserve(channelId, messagesPerSecond, count);
      const due = Date.now() + waitUs / 1000;
      // Waiting for a slot already granted (not polling): the reservation is the throttle.
      if (waitUs > 500) await new Promise((resolve) => setTimeout(resolve, Math.round(waitUs / 1000)));
      if (Date.now() - due < SendThrottle.MAX_LATENESS_MS || attempt >= 3) return;
    }
  }

  private async reserve(channelId: string, messagesPerSecond: number, count: number): Promise<number> {
    const intervalUs = Math.ceil(1_000_000 / (messagesPerSecond * SendThrottle.HEADROOM));
    if (this.redis) {
      const key = `{${this.config.queuePrefix}}:throttle:${channelId}`;
      return Number(await (this.redis as Redis & { reserveSlots(key: string, interval: number, count: number): Promise<string> }).reserveSlots(key, intervalUs, count));
    }
    const now = Number(process.hrtime.bigint() / 1000n);
    const tat = Math.max(this.timelines.get(channelId) ?? 0, now);
    this.timelines.set(channelId, tat + intervalUs * count);
    return tat - now;
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis?.quit().catch(() => undefined);
  }
}

/**
 * Meta's messaging limit: unique recipients of business-initiated messages per WABA in a moving
 * 24 h (whatsapp-cloud-api.md §4). A sorted set per WABA (member: recipient, score: last send);
 * a recipient already in the window costs nothing, a new one needs room under the tier.
 */
@Injectable()
export class ReachLimiter implements OnModuleDestroy {
  static readonly WINDOW_MS = 24 * 3600 * 1000;
  private readonly redis: Redis | null;
  private readonly memory = new Map<string, Map<string, number>>();

  constructor(private readonly config: AppConfig) {
    this.redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }) : null;
    this.redis?.defineCommand('admitRecipients', {
      numberOfKeys: 1,
      lua: `
        local now = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local limit = tonumber(ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local admitted = {}
        for i = 4, #ARGV do
          if redis.call('ZSCORE', KEYS[1], ARGV[i]) or redis.call('ZCARD', KEYS[1]) < limit then
            redis.call('ZADD', KEYS[1], now, ARGV[i])
            admitted[#admitted + 1] = 1
          else
            admitted[#admitted + 1] = 0
          end
        end
        redis.call('PEXPIRE', KEYS[1], window)
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        admitted[#admitted + 1] = oldest[2] or now
        return admitted
      `,
    });
  }

  /**
   * Which recipients may be reached now, and when room frees up for the others (ms epoch).
   * An infinite limit admits everyone without touching Redis.
   */
  async admit(wabaId: string, limit: number, recipients: string[]): Promise<{ admitted: boolean[]; retryAt: number }> {
    const now = Date.now();
    if (!Number.isFinite(limit) || recipients.length === 0) return { admitted: recipients.map(() => true), retryAt: now };
    if (this.redis) {
      const key = `{${this.config.queuePrefix}}:reach:${wabaId}`;
      const result = (await (this.redis as Redis & { admitRecipients(...args: (string | number)[]): Promise<(number | string)[]> }).admitRecipients(
        key,
        now,
        ReachLimiter.WINDOW_MS,
        limit,
        ...recipients,
      )) as (number | string)[];
      const oldest = Number(result.pop());
      return { admitted: result.map((flag) => Number(flag) === 1), retryAt: oldest + ReachLimiter.WINDOW_MS };
    }
    let set = this.memory.get(wabaId);
    if (!set) this.memory.set(wabaId, (set = new Map()));
    for (const [member, at] of set) if (at <= now - ReachLimiter.WINDOW_MS) set.delete(member);
    const admitted = recipients.map((recipient) => {
      if (set.has(recipient) || set.size < limit) {
        set.set(recipient, now);
        return true;
      }
      return false;
    });
    const oldest = Math.min(now, ...set.values());
    return { admitted, retryAt: oldest + ReachLimiter.WINDOW_MS };
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis?.quit().catch(() => undefined);
  }
}

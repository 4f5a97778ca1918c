import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import { AppConfig, counter } from '@app/core';

/** The process is shutting down: no more send slots (callers give up; their work is retried elsewhere). */
export class SendThrottleClosedError extends Error {
  constructor() {
    super('send throttle closed');
    this.name = 'SendThrottleClosedError';
  }
}

const dropped = counter({ name: 'delivery_throttle_slots_dropped_total', help: 'Send slots given up because their holder woke up too late' });

interface Waiter {
  need: number;
  urgent: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One number's pacing state in this process. */
interface Pacer {
  waiting: Waiter[];
  /** local due times (ms, performance.now()) of slots reserved and not yet handed out */
  slots: number[];
  reserving: boolean;
  timer: NodeJS.Timeout | null;
  messagesPerSecond: number;
  /** local hand-out times (ms) of the last slots handed out, oldest first: at most one second's worth */
  handedOut: number[];
  /** another process reserved on this number's timeline within the last second */
  shared: boolean;
  /** recent duration of a reservation (ms, moving average): a busy process waits longer for Redis' answers */
  roundTripMs: number;
  /** hand-outs allowed right now (refilled at CATCH_UP_RATE x the rate, up to a few ms' worth) */
  credit: number;
  creditAt: number;
}

/**
 * Per-number throughput, shared by every worker process: a generic cell-rate (GCRA) timeline in
 * Redis whose slots are spaced 1/(rate x HEADROOM) apart. A process reserves slots in blocks of a
 * few milliseconds' worth, only while it has callers waiting, and hands them out locally at their
 * due times: urgent (emergency) callers first, then in arrival order. So there is one Redis call
 * per block rather than per message, the timeline is never reserved far ahead (an emergency waits
 * at most about one block), and no process can exceed the rate whatever the number of workers.
 * Every process also keeps a trailing-second window of its own hand-outs: never more than
 * rate x HEADROOM in any second.
 *
 * A stalled event loop (GC, a busy machine) finds slots late. While other processes share the
 * number (they reserved on its timeline within the last second), a slot more than
 * MAX_LATENESS_MS late is given up, so that all of them together stay below the cap:
 * (1000 + MAX_LATENESS_MS) x 0.96 = 979 per 1,000/s, leaving ~20 ms for each process's error in
 * mapping the timeline's clock onto its own (never early, but late by up to its quickest recent
 * Redis answer). While this process sends alone, its window is the
 * whole guarantee: late slots are still used (up to CATCH_UP_MS), and the timeline may be reserved
 * up to TIMELINE_CATCH_UP_MS in the past, so a stall does not cost throughput and no second exceeds the cap.
 * A process joining a number whose process last reserved alone starts CATCH_UP_MS after that one's
 * last slot (once): the lone process learns that it shares the number only at its next
 * reservation, and its late slots until then would otherwise fall into the same seconds as the
 * joiner's (two workers reached 53 a second on a 50/s number, 1,012 on a 1,000/s one).
 * Without Redis (embedded) the timeline lives in memory: one process, always alone.
 */
@Injectable()
export class SendThrottle implements OnModuleDestroy {
  /** Fraction of the configured rate actually used: keeps a margin below Meta's cap for bursts and clock jitter. */
  static readonly HEADROOM = 0.96;
  /**
   * While processes share a number, slots older than this when handed out are given up (40 ms let
   * two workers reach 1,016 in a second at their HTTP clients; 20 ms: 988 and 992).
   */
  static readonly MAX_LATENESS_MS = 20;
  /** Alone on a number: how late a slot may still be used. */
  static readonly CATCH_UP_MS = 250;
  /**
   * Alone on a number: how far back its timeline may be reserved. Well under CATCH_UP_MS, so that
   * such slots are still usable when Redis' answer arrives late (a busy event loop).
   */
  static readonly TIMELINE_CATCH_UP_MS = 100;
  /**
   * Slots reserved per Redis call: this many milliseconds of the number's rate, or more when the
   * answers take longer (about 1.5 round trips' worth, up to MAX_BLOCK_MS): with one reservation
   * in flight per number, a block smaller than a round trip would cap the number's rate.
   */
  static readonly BLOCK_MS = 20;
  static readonly MAX_BLOCK_MS = 100;
  /** Shortest pause between two hand-outs while slots are coming (bounds timer wake-ups). */
  static readonly TICK_MS = 4;
  /**
   * Late slots are handed out at most this many times the rate (and never more than BURST_MS of
   * the rate at once): after a stall the backlog goes out quickly but spread, not in one burst that
   * a second later would free the window all at once and start again.
   */
  static readonly CATCH_UP_RATE = 2;
  static readonly BURST_MS = 10;
  /** The window of a rate too small for HEADROOM to round to a slot of its own (see handOutWindow). */
  static readonly SMALL_RATE_WINDOW_MS = 1150;

  /**
   * The trailing window a process keeps its hand-outs within: at most `count` in any `ms`. That is
   * rate x HEADROOM rounded down in a second, while that loses little. At a few a second the rounding
   * costs a whole slot (2/s sent 1 a second, 1/s had no margin at all), so such a rate is kept as a
   * whole over a longer window instead: the same margin for jitter between hand-out and Meta's
   * receipt (3 a second handed out reached a receiver as 4), with 87 % of the rate instead of 50.
   * `perSecond` is the window's rate, which the timeline is spaced at.
   */
  static handOutWindow(messagesPerSecond: number): { count: number; ms: number; perSecond: number } {
    const inOneSecond = Math.floor(messagesPerSecond * SendThrottle.HEADROOM);
    const stretched = Math.max(1, Math.floor(messagesPerSecond));
    if (inOneSecond >= 1 && inOneSecond * SendThrottle.SMALL_RATE_WINDOW_MS >= stretched * 1000) {
      return { count: inOneSecond, ms: 1000, perSecond: messagesPerSecond * SendThrottle.HEADROOM };
    }
    return { count: stretched, ms: SendThrottle.SMALL_RATE_WINDOW_MS, perSecond: (stretched * 1000) / SendThrottle.SMALL_RATE_WINDOW_MS };
  }

  private readonly redis: Redis | null;
  private readonly timelines = new Map<string, number>();
  private readonly pacers = new Map<string, Pacer>();
  private closed = false;
  /** This process on the timelines' list of recent reservers. */
  private readonly processId = randomUUID();

  constructor(private readonly config: AppConfig) {
    this.redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: false }) : null;
    // KEYS[1] timeline (next free slot, µs on Redis' clock); KEYS[2] recent reservers (process ->
    // "µs,mode": when it last reserved, and "a" if it was answered alone then, so that it may still
    // be handing out late slots; "s" once shared or covered by a join gap). ARGV: interval µs, count,
    // this process, catch-up µs, join gap µs. Answers the first slot, Redis' now, and whether another
    // process reserved within the last second (then no catching up).
    this.redis?.defineCommand('reserveSlots', {
      numberOfKeys: 2,
      lua: `
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local shared = 0
        local alone = {}
        local reservers = redis.call('HGETALL', KEYS[2])
        for i = 1, #reservers, 2 do
          local at, mode = string.match(reservers[i + 1], '^([^,]+),?(%a*)$')
          if tonumber(at or '0') < now - 1000000 then redis.call('HDEL', KEYS[2], reservers[i])
          elseif reservers[i] ~= ARGV[3] then
            shared = 1
            if mode == 'a' then alone[#alone + 1] = reservers[i]; alone[#alone + 1] = at .. ',s' end
          end
        end
        redis.call('HSET', KEYS[2], ARGV[3], tostring(now) .. (shared == 1 and ',s' or ',a'))
        redis.call('PEXPIRE', KEYS[2], 2000)
        local stored = redis.call('GET', KEYS[1])
        local tat = tonumber(stored or '0')
        -- Catching up only on a timeline in use (the key outlives its last slot by one second):
        -- a number that was idle starts at now, without a burst.
        local floor = now
        if shared == 0 and stored then floor = now - tonumber(ARGV[4]) end
        if tat < floor then tat = floor end
        -- Joining a process that last reserved alone: until its next reservation tells it
        -- otherwise, it may hand out its slots up to the catch-up lateness late. The timeline skips
        -- that lateness past its last slot, once, so that no second holds its late slots and ours.
        if #alone > 0 then
          tat = math.max(tat, tonumber(stored or '0') + tonumber(ARGV[5]))
          redis.call('HSET', KEYS[2], unpack(alone))
        end
        local after = tat + tonumber(ARGV[1]) * tonumber(ARGV[2])
        redis.call('SET', KEYS[1], tostring(after), 'PX', math.max(0, math.ceil((after - now) / 1000)) + 1000)
        return { tostring(tat), tostring(now), shared }
      `,
    });
  }

  /** Slots a caller should ask for at once: about 5 ms of the number's rate. */
  static groupSize(messagesPerSecond: number): number {
    return Math.max(1, Math.floor((messagesPerSecond * SendThrottle.HEADROOM) / 200));
  }

  /**
   * Resolves once `count` send slots of the channel's timeline are due for this caller; `urgent`
   * callers (emergencies) are served before the others waiting in this process.
   */
  acquire(channelId: string, messagesPerSecond: number, count: number, urgent = false): Promise<void> {
    if (count <= 0) return Promise.resolve();
    let pacer = this.pacers.get(channelId);
    if (!pacer) this.pacers.set(channelId, (pacer = { waiting: [], slots: [], reserving: false, timer: null, messagesPerSecond, handedOut: [], shared: false, roundTripMs: 0, credit: 0, creditAt: performance.now() }));
    pacer.messagesPerSecond = messagesPerSecond;
    if (this.closed) return Promise.reject(new SendThrottleClosedError());
    const promise = new Promise<void>((resolve, reject) => {
      const waiter = { need: count, urgent, resolve, reject };
      if (urgent) {
        const at = pacer.waiting.findIndex((w) => !w.urgent);
        pacer.waiting.splice(at < 0 ? pacer.waiting.length : at, 0, waiter);
      } else pacer.waiting.push(waiter);
    });
    this.pump(channelId, pacer);
    return promise;
  }

  /** Hands out due slots, gives up stale ones, reserves the next block when demand exceeds what is held. */
  private pump(channelId: string, pacer: Pacer): void {
    if (this.closed) return;
    const now = performance.now();
    let stale = 0;
    // This process never hands out more than the window's count in its trailing window (handOutWindow).
    const window = SendThrottle.handOutWindow(pacer.messagesPerSecond);
    const perSecond = (window.count * 1000) / window.ms;
    while (pacer.handedOut.length > 0 && now - pacer.handedOut[0] >= window.ms) pacer.handedOut.shift();
    // No hand-out before this time: the trailing second is full, or the catch-up credit is spent.
    let notBefore = 0;
    const maxLateness = pacer.shared ? SendThrottle.MAX_LATENESS_MS : SendThrottle.CATCH_UP_MS;
    const burst = Math.max(4, (perSecond * SendThrottle.BURST_MS) / 1000);
    pacer.credit = Math.min(burst, pacer.credit + ((now - pacer.creditAt) * perSecond * SendThrottle.CATCH_UP_RATE) / 1000);
    pacer.creditAt = now;
    while (pacer.slots.length > 0 && pacer.slots[0] <= now && pacer.waiting.length > 0) {
      if (now - pacer.slots[0] > maxLateness) {
        pacer.slots.shift();
        stale++;
        continue;
      }
      if (pacer.handedOut.length >= window.count) {
        notBefore = pacer.handedOut[pacer.handedOut.length - window.count] + window.ms;
        break;
      }
      if (pacer.credit < 1) {
        notBefore = now + ((1 - pacer.credit) * 1000) / (perSecond * SendThrottle.CATCH_UP_RATE);
        break;
      }
      pacer.credit -= 1;
      pacer.slots.shift();
      pacer.handedOut.push(now);
      const head = pacer.waiting[0];
      if (--head.need === 0) {
        pacer.waiting.shift();
        head.resolve();
      }
    }
    if (stale > 0) dropped.inc(stale);
    // Slots nobody waits for any more (callers gone) are dropped once due.
    if (pacer.waiting.length === 0) while (pacer.slots.length > 0 && pacer.slots[0] <= now) pacer.slots.shift();
    const demand = pacer.waiting.reduce((sum, w) => sum + w.need, 0);
    const blockMs = Math.min(SendThrottle.MAX_BLOCK_MS, Math.max(SendThrottle.BLOCK_MS, pacer.roundTripMs * 1.5));
    const block = Math.max(1, Math.floor((window.perSecond * blockMs) / 1000));
    // The next block is reserved while two are still held (a Redis round trip slower than one block
    // would otherwise leave the timeline idle), and at most about three blocks are held ahead, so
    // the timeline is never reserved far into the future.
    if (demand > pacer.slots.length && pacer.slots.length < 2 * block && !pacer.reserving) {
      const count = Math.min(block, demand - pacer.slots.length);
      pacer.reserving = true;
      const intervalUs = Math.ceil(1_000_000 / window.perSecond);
      const asked = performance.now();
      this.reserve(channelId, intervalUs, count).then(
        ({ tatUs, shared }) => {
          pacer.roundTripMs = pacer.roundTripMs * 0.8 + (performance.now() - asked) * 0.2;
          pacer.shared = shared;
          const first = this.toLocalMs(tatUs);
          const last = pacer.slots.length ? pacer.slots[pacer.slots.length - 1] : -Infinity;
          for (let i = 0; i < count; i++) pacer.slots.push(Math.max(first + (i * intervalUs) / 1000, last));
          pacer.reserving = false;
          this.pump(channelId, pacer);
        },
        () => {
          // Redis unreachable: try again shortly (the callers keep waiting, nothing is sent unthrottled).
          pacer.reserving = false;
          setTimeout(() => this.pump(channelId, pacer), 100);
        },
      );
    }
    if (pacer.timer) clearTimeout(pacer.timer);
    pacer.timer = null;
    if (pacer.waiting.length > 0 && pacer.slots.length > 0) {
      // Wake when the next slot is due, but no more often than every TICK_MS while more are coming:
      // slots are then handed out in small groups (never early, at most TICK_MS late).
      const now = performance.now();
      const wait = Math.max(pacer.slots[0], notBefore) - now;
      const lastWait = pacer.slots[pacer.slots.length - 1] - now;
      // On a grid shared by every number: the numbers' hand-outs come due in the same timer run,
      // so each tick sends one burst for all of them instead of a few requests per wake-up.
      const wakeAt = now + Math.max(0, wait, Math.min(SendThrottle.TICK_MS, lastWait));
      this.wakeLater(channelId, pacer, Math.ceil(wakeAt / SendThrottle.TICK_MS) * SendThrottle.TICK_MS - now);
    } else if (pacer.waiting.length === 0 && pacer.slots.length === 0 && !pacer.reserving) {
      // Forgotten only once its trailing second is empty: a new pacer starts with an empty window,
      // so forgetting it earlier would let a short pause in demand reset the per-second guarantee.
      if (pacer.handedOut.length === 0) this.pacers.delete(channelId);
      else this.wakeLater(channelId, pacer, Math.max(0, pacer.handedOut[pacer.handedOut.length - 1] + 1000 - performance.now()) + 1);
    } else if (pacer.waiting.length === 0 && pacer.slots.length > 0) {
      // Nobody waits: let the held slots lapse when due, then forget the number.
      this.wakeLater(channelId, pacer, Math.max(0, pacer.slots[pacer.slots.length - 1] - performance.now()) + 1);
    }
  }

  /** The pacer's one timer: pump again after `delayMs`. */
  private wakeLater(channelId: string, pacer: Pacer, delayMs: number): void {
    pacer.timer = setTimeout(() => {
      pacer.timer = null;
      this.pump(channelId, pacer);
    }, delayMs);
  }

  /**
   * Reserves `count` consecutive slots; answers the first one's time on the timeline's clock (µs)
   * and whether other processes share the timeline. Also refreshes the estimate of that clock
   * against this process's monotonic clock.
   */
  private async reserve(channelId: string, intervalUs: number, count: number): Promise<{ tatUs: number; shared: boolean }> {
    if (this.redis) {
      const key = `{${this.config.queuePrefix}}:throttle:${channelId}`;
      const [tat, now, shared] = await (this.redis as Redis & { reserveSlots(...args: (string | number)[]): Promise<[string, string, number]> }).reserveSlots(
        key,
        `${key}:reservers`,
        intervalUs,
        count,
        this.processId,
        SendThrottle.TIMELINE_CATCH_UP_MS * 1000,
        SendThrottle.CATCH_UP_MS * 1000,
      );
      this.observeClock(Number(now));
      return { tatUs: Number(tat), shared: Number(shared) === 1 };
    }
    const now = performance.now() * 1000;
    this.observeClock(now);
    const stored = this.timelines.get(channelId);
    const inUse = stored !== undefined && stored > now - 1_000_000;
    const tat = Math.max(stored ?? 0, inUse ? now - SendThrottle.TIMELINE_CATCH_UP_MS * 1000 : now);
    this.timelines.set(channelId, tat + intervalUs * count);
    return { tatUs: tat, shared: false };
  }

  /**
   * Offset (ms) between the timeline's clock and performance.now(). Each answer is read after the
   * timeline's clock was sampled, so every observation is at most the true offset; the largest one
   * seen (slowly forgotten, for drift) maps slots to local times that are never early, and the same
   * offset for every block keeps the slots evenly spaced however late each answer was processed.
   */
  private offsetMs = -Infinity;
  private offsetSeenAt = 0;

  private observeClock(timelineNowUs: number): void {
    const local = performance.now();
    const observed = timelineNowUs / 1000 - local;
    const decayed = this.offsetMs - (local - this.offsetSeenAt) / 1000;
    this.offsetMs = Math.max(observed, decayed);
    this.offsetSeenAt = local;
  }

  private toLocalMs(timelineUs: number): number {
    return timelineUs / 1000 - this.offsetMs;
  }

  /** Shutting down: callers still waiting fail (their job is retried later), nothing is sent unthrottled. */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    for (const pacer of this.pacers.values()) {
      if (pacer.timer) clearTimeout(pacer.timer);
      for (const waiter of pacer.waiting.splice(0)) waiter.reject(new SendThrottleClosedError());
    }
    this.pacers.clear();
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

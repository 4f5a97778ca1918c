import { randomBytes } from 'crypto';
import { type AppConfig, metricsRegistry } from '@app/core';
import { SendThrottle } from '@app/delivery';

/**
 * The per-number pacer on real Redis, with two throttles standing for two worker processes. Alone,
 * a process catches up slots a stalled event loop made late; sharing a number, it gives them up,
 * so that together the processes never exceed the number's rate in any second.
 */
describe('Send throttle on Redis', () => {
  const config = { redisUrl: process.env.REDIS_URL, queuePrefix: `throttle-${randomBytes(3).toString('hex')}` } as unknown as AppConfig;
  const throttles: SendThrottle[] = [];
  const throttle = () => {
    const created = new SendThrottle(config);
    throttles.push(created);
    return created;
  };
  afterAll(async () => {
    await Promise.all(throttles.map((t) => t.onModuleDestroy()));
  });

  const dropped = async () => (await metricsRegistry.getSingleMetric('delivery_throttle_slots_dropped_total')!.get()).values.reduce((sum, v) => sum + v.value, 0);
  /**
   * Most acquisitions resolved within any one second, give or take the few milliseconds between a
   * hand-out and its caller running (slots are handed out in small blocks: a window's edge falling
   * inside that delay would count a whole block twice).
   */
  const mostInOneSecond = (times: number[]) => {
    const sorted = [...times].sort((a, b) => a - b);
    let most = 0;
    for (let lo = 0, hi = 0; hi < sorted.length; hi++) {
      while (sorted[hi] - sorted[lo] >= 1000 - 5) lo++;
      most = Math.max(most, hi - lo + 1);
    }
    return most;
  };
  /** `groups` acquisitions of 4 slots at 1,000/s; the event loop is blocked 100 ms after `stallAfterMs`. */
  async function sendWithStall(channelId: string, senders: SendThrottle[], groups: number, stallAfterMs = 100): Promise<number[]> {
    const handedOut: number[] = [];
    const acquires = senders.flatMap((sender) => Array.from({ length: groups }, () => sender.acquire(channelId, 1000, 4).then(() => handedOut.push(performance.now()))));
    await new Promise((resolve) => setTimeout(resolve, stallAfterMs));
    const blockedUntil = performance.now() + 100;
    while (performance.now() < blockedUntil);
    await Promise.all(acquires);
    return handedOut;
  }

  it('alone on a number: no slot is given up after a 100 ms stall, and no second holds more than the rate', async () => {
    const before = await dropped();
    const handedOut = await sendWithStall(`alone-${randomBytes(4).toString('hex')}`, [throttle()], 300);
    expect(handedOut).toHaveLength(300);
    expect((await dropped()) - before).toBe(0);
    expect(mostInOneSecond(handedOut) * 4).toBeLessThanOrEqual(1000 * SendThrottle.HEADROOM);
  });

  it('two processes on one number: late slots are given up and together they stay under the rate', async () => {
    const before = await dropped();
    // The stall comes once both share the number (the second one's start waits out the first's
    // catch-up lateness: see the next tests).
    const handedOut = await sendWithStall(`shared-${randomBytes(4).toString('hex')}`, [throttle(), throttle()], 200, 600);
    expect(handedOut).toHaveLength(400);
    expect((await dropped()) - before).toBeGreaterThan(0);
    // (1000 + MAX_LATENESS_MS) x HEADROOM slots at most in any second, for both together.
    expect(mostInOneSecond(handedOut) * 4).toBeLessThanOrEqual(Math.floor(((1000 + SendThrottle.MAX_LATENESS_MS) * 1000 * SendThrottle.HEADROOM) / 1000));
  });

  it.each([
    [50, 100],
    [50, 200],
    [1000, 100],
  ])('a second process joining a %d/s number just after a lone one caught up on a %d ms stall: together they stay under the rate', async (rate, stallMs) => {
    const channelId = `join-${randomBytes(4).toString('hex')}`;
    const [first, second] = [throttle(), throttle()];
    const handedOut: number[] = [];
    const take = (sender: SendThrottle) => Array.from({ length: rate * 3 }, () => sender.acquire(channelId, rate, 1).then(() => handedOut.push(performance.now())));
    const firstDone = Promise.all(take(first));
    // A second of sending alone, then the event loop blocked: the lone process catches up (its
    // late slots go out at twice the rate), and the second process starts 50 ms after the stall.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const blockedUntil = performance.now() + stallMs;
    while (performance.now() < blockedUntil);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const secondDone = Promise.all(take(second));
    await Promise.all([firstDone, secondDone]);
    expect(handedOut).toHaveLength(rate * 6);
    expect(mostInOneSecond(handedOut)).toBeLessThanOrEqual(rate);
  }, 30_000);
});

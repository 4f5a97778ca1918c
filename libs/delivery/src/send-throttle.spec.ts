import { type AppConfig, metricsRegistry } from '@app/core';
import { SendThrottle } from './send-throttle';

// No Redis: the in-memory timeline of one process (the embedded mode).
const config = { redisUrl: null, queuePrefix: 'test' } as unknown as AppConfig;

describe('SendThrottle', () => {
  let throttle: SendThrottle;
  beforeEach(() => (throttle = new SendThrottle(config)));
  afterEach(() => throttle.onModuleDestroy());

  it('hands out every slot asked for, in arrival order', async () => {
    const order: string[] = [];
    await Promise.all(['a', 'b', 'c'].map((name) => throttle.acquire('ch', 2000, 3).then(() => order.push(name))));
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('serves an emergency before normal callers already waiting', async () => {
    const order: string[] = [];
    const normal = Array.from({ length: 5 }, (_, i) => throttle.acquire('ch', 500, 5).then(() => order.push(`normal-${i}`)));
    const urgent = throttle.acquire('ch', 500, 1, true).then(() => order.push('urgent'));
    await Promise.all([...normal, urgent]);
    expect(order.indexOf('urgent')).toBeLessThan(order.indexOf('normal-1'));
    expect(order.filter((name) => name !== 'urgent')).toEqual(['normal-0', 'normal-1', 'normal-2', 'normal-3', 'normal-4']);
  });

  it('keeps numbers apart and answers nothing asked at once', async () => {
    await expect(throttle.acquire('ch', 100, 0)).resolves.toBeUndefined();
    await expect(Promise.all([throttle.acquire('one', 1000, 2), throttle.acquire('two', 1000, 2)])).resolves.toHaveLength(2);
  });

  it('alone on a number, loses no slot to a stalled event loop and still never exceeds the rate in any second', async () => {
    const dropped = async () => (await metricsRegistry.getSingleMetric('delivery_throttle_slots_dropped_total')!.get()).values.reduce((sum, v) => sum + v.value, 0);
    const droppedBefore = await dropped();
    const handedOut: number[] = [];
    const acquires = Array.from({ length: 300 }, () => throttle.acquire('ch', 1000, 4).then(() => handedOut.push(performance.now())));
    // The event loop blocked for 100 ms after 100 ms of sending (a long GC pause, a busy machine;
    // well within CATCH_UP_MS, so that a host stealing the CPU meanwhile does not make it longer).
    await new Promise((resolve) => setTimeout(resolve, 100));
    const blockedUntil = performance.now() + 100;
    while (performance.now() < blockedUntil);
    await Promise.all(acquires);
    expect(handedOut).toHaveLength(300);
    expect((await dropped()) - droppedBefore).toBe(0);
    // Each resolution is 4 slots: at most 960 slots (240 resolutions) in any one-second window
    // (less 5 ms: slots go out in small blocks, and a window's edge inside the delay between a
    // hand-out and its caller running would count a block twice).
    handedOut.sort((a, b) => a - b);
    let most = 0;
    for (let lo = 0, hi = 0; hi < handedOut.length; hi++) {
      while (handedOut[hi] - handedOut[lo] >= 1000 - 5) lo++;
      most = Math.max(most, hi - lo + 1);
    }
    expect(most * 4).toBeLessThanOrEqual(1000 * SendThrottle.HEADROOM);
  });

  it('keeps a rate of a few a second whole over a longer window, instead of rounding its headroom off to half', () => {
    expect(SendThrottle.handOutWindow(1000)).toEqual({ count: 960, ms: 1000, perSecond: 960 });
    expect(SendThrottle.handOutWindow(80)).toMatchObject({ count: 76, ms: 1000 });
    expect(SendThrottle.handOutWindow(10)).toMatchObject({ count: 9, ms: 1000 });
    // 2/s handed out 1 a second; 1/s had no margin left at all.
    expect(SendThrottle.handOutWindow(2)).toMatchObject({ count: 2, ms: 1150 });
    expect(SendThrottle.handOutWindow(1)).toMatchObject({ count: 1, ms: 1150 });
    for (let rate = 1; rate <= 1000; rate++) {
      const window = SendThrottle.handOutWindow(rate);
      // Never more than the rate in any second, never less than 85 % of it.
      expect((window.count * 1000) / window.ms).toBeLessThanOrEqual(rate * SendThrottle.HEADROOM + 1e-9);
      expect(window.count / Math.max(1, window.ms / 1000) / rate).toBeGreaterThan(0.85);
    }
  });

  it('at 3 a second, hands out no more than 3 in any second, spaced along the longer window', async () => {
    const handedOut: number[] = [];
    await Promise.all(Array.from({ length: 7 }, () => throttle.acquire('slow', 3, 1).then(() => handedOut.push(performance.now()))));
    handedOut.sort((a, b) => a - b);
    for (let i = 3; i < handedOut.length; i++) expect(handedOut[i] - handedOut[i - 3]).toBeGreaterThanOrEqual(1000);
  });

  it('sizes groups to about 5 ms of the rate', () => {
    expect(SendThrottle.groupSize(1000)).toBe(4);
    expect(SendThrottle.groupSize(80)).toBe(1);
  });
});

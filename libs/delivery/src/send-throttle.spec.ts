import type { AppConfig } from '@app/core';
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

  it('sizes groups to about 5 ms of the rate', () => {
    expect(SendThrottle.groupSize(1000)).toBe(4);
    expect(SendThrottle.groupSize(80)).toBe(1);
  });
});

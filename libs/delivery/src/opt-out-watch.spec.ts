import type { DataSource } from 'typeorm';
import { type AppConfig, Clock } from '@app/core';
import { OptOutWatch } from './opt-out-watch';

describe('OptOutWatch without Redis (embedded: one process)', () => {
  const held: unknown[][] = [];
  const dataSource = { query: jest.fn(async () => held.shift() ?? []) } as unknown as DataSource;
  const clock = new Clock();
  const watch = () => new OptOutWatch({ redisUrl: null, queuePrefix: 'test' } as unknown as AppConfig, dataSource, clock);

  it('knows an announced opt-out at once, and only that one', async () => {
    const optOuts = watch();
    const subscribedAt = new Date(Date.now() - 60_000);
    await optOuts.announce('tenant', ['a']);
    expect(optOuts.isOptedOut('a', subscribedAt)).toBe(true);
    expect(optOuts.isOptedOut('b', subscribedAt)).toBe(false);
    expect(optOuts.isOptedOut(null, subscribedAt)).toBe(false);
    await optOuts.onModuleDestroy();
  });

  it('waits while a dispatch job still holds a delivery of theirs', async () => {
    const optOuts = watch();
    held.push([{ '?column?': 1 }], [{ '?column?': 1 }]);
    (dataSource.query as jest.Mock).mockClear();
    await optOuts.announce('tenant', ['c']);
    // Held twice, then released: three looks at the deliveries.
    expect((dataSource.query as jest.Mock).mock.calls).toHaveLength(3);
    expect((dataSource.query as jest.Mock).mock.calls[0][1]).toEqual(['tenant', ['c']]);
    await optOuts.onModuleDestroy();
  });

  it('does not hold an opt-out against a subscription that began after it (the citizen came back)', async () => {
    const optOuts = watch();
    const now = Date.now();
    const time = jest.spyOn(clock, 'now').mockReturnValue(new Date(now));
    await optOuts.announce('tenant', ['e']);
    expect(optOuts.isOptedOut('e', new Date(now - 1))).toBe(true);
    expect(optOuts.isOptedOut('e', new Date(now))).toBe(true);
    expect(optOuts.isOptedOut('e', new Date(now + 1))).toBe(false);
    // A subscription of unknown start is held to the opt-out.
    expect(optOuts.isOptedOut('e', null)).toBe(true);
    time.mockRestore();
    await optOuts.onModuleDestroy();
  });

  it('forgets opt-outs after ten minutes', async () => {
    const optOuts = watch();
    const now = Date.now();
    const time = jest.spyOn(clock, 'now').mockReturnValue(new Date(now));
    await optOuts.announce('tenant', ['d']);
    time.mockReturnValue(new Date(now + 10 * 60_000 + 1));
    await optOuts.poll();
    expect(optOuts.isOptedOut('d', new Date(now - 60_000))).toBe(false);
    time.mockRestore();
    await optOuts.onModuleDestroy();
  });
});

import { PermanentJobError, QueueJob } from '../job';
import { JobPriority } from '../queue-names';
import { QueueName } from '../queue-names';
import { InProcessTransport } from './in-process.transport';

const settle = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));

describe('InProcessTransport', () => {
  it('runs emergency jobs ahead of normal ones already waiting', async () => {
    const transport = new InProcessTransport();
    const order: string[] = [];
    for (let i = 0; i < 3; i++) await transport.add(QueueName.MessageDispatch, { name: 'send', data: `normal-${i}` });
    await transport.add(QueueName.MessageDispatch, { name: 'send', data: 'emergency', options: { priority: JobPriority.Emergency } });
    transport.process<string>(QueueName.MessageDispatch, 1, async (job) => void order.push(job.data));
    await settle();
    expect(order[0]).toBe('emergency');
    expect(order).toHaveLength(4);
  });

  it('retries with backoff, and ends a permanent failure at once', async () => {
    const transport = new InProcessTransport();
    const attempts: Record<string, number> = {};
    transport.process<string>(QueueName.Campaigns, 2, async (job: QueueJob<string>) => {
      attempts[job.data] = (attempts[job.data] ?? 0) + 1;
      if (job.data === 'flaky' && job.attemptsMade < 2) throw new Error('try again');
      if (job.data === 'broken') throw new PermanentJobError('never works');
    });
    await transport.add(QueueName.Campaigns, { name: 'x', data: 'flaky', options: { backoffMs: 5 } });
    await transport.add(QueueName.Campaigns, { name: 'x', data: 'broken', options: { backoffMs: 5 } });
    await settle(100);
    expect(attempts).toEqual({ flaky: 3, broken: 1 });
    expect((await transport.counts(QueueName.Campaigns)).failed).toBe(1);
  });

  it('waits out a delay longer than one timer can (a campaign scheduled next month)', async () => {
    jest.useFakeTimers();
    try {
      const transport = new InProcessTransport();
      const ran: number[] = [];
      transport.process<number>(QueueName.Campaigns, 1, async () => void ran.push(Date.now()));
      const start = Date.now();
      const thirtyDays = 30 * 86_400_000;
      await transport.add(QueueName.Campaigns, { name: 'launch', data: 1, options: { delayMs: thirtyDays } });
      await jest.advanceTimersByTimeAsync(25 * 86_400_000);
      expect(ran).toEqual([]);
      expect((await transport.counts(QueueName.Campaigns)).delayed).toBe(1);
      await jest.advanceTimersByTimeAsync(5 * 86_400_000);
      expect(ran).toEqual([start + thirtyDays]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('ignores a second job with the same id while the first exists', async () => {
    const transport = new InProcessTransport();
    await transport.add(QueueName.Maintenance, { name: 'x', data: 1, options: { jobId: 'same' } });
    await transport.add(QueueName.Maintenance, { name: 'x', data: 2, options: { jobId: 'same' } });
    expect((await transport.counts(QueueName.Maintenance)).waiting).toBe(1);
  });
});

describe('InProcessTransport job context', () => {
  it('runs a job outside the async context of the code that enqueued it', async () => {
    const { AsyncLocalStorage } = await import('async_hooks');
    const storage = new AsyncLocalStorage<string>();
    const transport = new InProcessTransport();
    const seen: (string | undefined)[] = [];
    transport.process<string>(QueueName.Campaigns, 1, async () => void seen.push(storage.getStore()));
    await storage.run('tenant-a', () => transport.add(QueueName.Campaigns, { name: 'x', data: 'a' }));
    await storage.run('tenant-b', () => transport.add(QueueName.Campaigns, { name: 'x', data: 'b' }));
    await settle();
    expect(seen).toEqual([undefined, undefined]);
  });
});

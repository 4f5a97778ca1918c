import { Logger } from '@nestjs/common';
import type { Job, JobOptions as BullJobOptions, Queue } from 'bull';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, JobHandler, JobSpec, PermanentJobError, QueueCounts } from '../job';
import { JobPriority, QueueName } from '../queue-names';

import { QueueTransport } from '../queue-transport';

const toBullOptions = (spec: JobSpec): BullJobOptions => ({
  jobId: spec.options?.jobId,
  priority: spec.options?.priority ?? JobPriority.Normal,
  delay: spec.options?.delayMs,
  attempts: spec.options?.attempts ?? DEFAULT_ATTEMPTS,
  backoff: { type: 'exponential', delay: spec.options?.backoffMs ?? DEFAULT_BACKOFF_MS },
  removeOnComplete: true,
  // Failed jobs are kept for inspection (Bull Board, admin health), bounded.
  removeOnFail: 5000,
});

/** Jobs in Redis through Bull: production, and the test suite. */
export class BullTransport extends QueueTransport {
  readonly kind = 'bull' as const;
  private readonly logger = new Logger('BullQueue');

  constructor(private readonly queues: Map<QueueName, Queue>) {
    super();
  }

  private queue(name: QueueName): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`queue ${name} is not registered`);
    return queue;
  }

  async add<T>(name: QueueName, spec: JobSpec<T>): Promise<void> {
    await this.queue(name).add(spec.name, spec.data, toBullOptions(spec as JobSpec));
  }

  async addBulk<T>(name: QueueName, specs: JobSpec<T>[]): Promise<void> {
    if (specs.length === 0) return;
    await this.queue(name).addBulk(specs.map((spec) => ({ name: spec.name, data: spec.data, opts: toBullOptions(spec as JobSpec) })));
  }

  process<T>(name: QueueName, concurrency: number, handler: JobHandler<T>): void {
    const queue = this.queue(name);
    // '*' consumes every job name of the queue with one concurrency budget.
    void queue.process('*', concurrency, async (job: Job<T>) => {
      try {
        await handler({ id: String(job.id), name: job.name, data: job.data, attemptsMade: job.attemptsMade });
      } catch (error) {
        if (error instanceof PermanentJobError) await job.discard();
        throw error;
      }
    });
    queue.on('failed', (job: Job, error: Error) => {
      if (job.attemptsMade >= (job.opts.attempts ?? 1)) this.logger.warn(`job ${name}/${job.name}#${job.id} failed for good: ${error.message}`);
    });
  }

  async counts(name: QueueName): Promise<QueueCounts> {
    const counts = await this.queue(name).getJobCounts();
    return { name, waiting: counts.waiting, active: counts.active, delayed: counts.delayed, failed: counts.failed };
  }

  async empty(name: QueueName): Promise<void> {
    const queue = this.queue(name);
    await queue.empty();
    await queue.clean(0, 'delayed');
    await queue.clean(0, 'failed');
  }

  async ping(): Promise<void> {
    const client = this.queues.values().next().value?.client;
    if (!client) throw new Error('no queue registered');
    await client.ping();
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}

import { Logger } from '@nestjs/common';
import { AsyncResource } from 'async_hooks';
import * as fastq from 'fastq';
import type { queueAsPromised } from 'fastq';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, JobHandler, JobSpec, PermanentJobError, QueueCounts, QueueJob } from '../job';
import { JobPriority, QueueName } from '../queue-names';
import { QueueTransport } from '../queue-transport';

/** setTimeout's longest delay (2^31 - 1 ms); a longer one is taken as 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Envelope {
  job: QueueJob;
  spec: JobSpec;
}

interface LocalQueue {
  handler: JobHandler | null;
  runner: queueAsPromised<Envelope> | null;
  pending: Envelope[];
  delayed: Set<NodeJS.Timeout>;
  ids: Set<string>;
  failed: { job: QueueJob; reason: string }[];
}

/**
 * Jobs in this process's memory, on fastq: for the embedded default (one process, no Redis).
 * Same contract as Bull: priorities, delays, retries with exponential backoff, deterministic ids,
 * failed jobs kept for inspection. Jobs do not survive a restart; the reconciler re-enqueues
 * whatever the database says is still to do.
 */
export class InProcessTransport extends QueueTransport {
  readonly kind = 'in-process' as const;
  private readonly logger = new Logger('InProcessQueue');
  private readonly queues = new Map<QueueName, LocalQueue>();
  private sequence = 0;
  private closed = false;
  /**
   * Jobs run in the async context of the transport's creation (boot), never in the context of the
   * request that enqueued them or of the job that ran before (as a worker process runs Bull jobs):
   * a tenant request's database context must not follow its jobs.
   */
  private readonly jobScope = new AsyncResource('filodiretto-in-process-job');

  private queue(name: QueueName): LocalQueue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = { handler: null, runner: null, pending: [], delayed: new Set(), ids: new Set(), failed: [] };
      this.queues.set(name, queue);
    }
    return queue;
  }

  async add<T>(name: QueueName, spec: JobSpec<T>): Promise<void> {
    const queue = this.queue(name);
    const id = spec.options?.jobId ?? `${++this.sequence}`;
    if (spec.options?.jobId && queue.ids.has(id)) return;
    queue.ids.add(id);
    const envelope: Envelope = { job: { id, name: spec.name, data: spec.data, attemptsMade: 0 }, spec: spec as JobSpec };
    this.schedule(name, envelope, spec.options?.delayMs ?? 0);
  }

  async addBulk<T>(name: QueueName, specs: JobSpec<T>[]): Promise<void> {
    for (const spec of specs) await this.add(name, spec);
  }

  process<T>(name: QueueName, concurrency: number, handler: JobHandler<T>): void {
    const queue = this.queue(name);
    queue.handler = handler as JobHandler;
    queue.runner = fastq.promise((envelope: Envelope) => this.run(name, envelope), concurrency);
    const byPriority = (e: Envelope) => e.spec.options?.priority ?? JobPriority.Normal;
    for (const envelope of queue.pending.splice(0).sort((a, b) => byPriority(a) - byPriority(b))) this.enqueue(queue, envelope);
  }

  async counts(name: QueueName): Promise<QueueCounts> {
    const queue = this.queue(name);
    const running = queue.runner?.running() ?? 0;
    const waiting = (queue.runner?.length() ?? 0) + queue.pending.length;
    return { name, waiting, active: running, delayed: queue.delayed.size, failed: queue.failed.length };
  }

  async empty(name: QueueName): Promise<void> {
    const queue = this.queue(name);
    queue.runner?.kill();
    if (queue.handler) queue.runner = fastq.promise((envelope: Envelope) => this.run(name, envelope), queue.runner?.concurrency ?? 1);
    queue.pending = [];
    queue.delayed.forEach(clearTimeout);
    queue.delayed.clear();
    queue.ids.clear();
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('queue transport closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const queue of this.queues.values()) {
      queue.delayed.forEach(clearTimeout);
      queue.delayed.clear();
      if (queue.runner && !queue.runner.idle()) await queue.runner.drained();
    }
  }

  private schedule(name: QueueName, envelope: Envelope, delayMs: number): void {
    const queue = this.queue(name);
    if (delayMs <= 0) return this.enqueue(queue, envelope);
    // A timer longer than setTimeout's longest (about 24.8 days, a campaign scheduled next month)
    // would fire at once: the delay is waited for in steps.
    const step = Math.min(delayMs, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      queue.delayed.delete(timer);
      if (this.closed) return;
      if (delayMs > step) this.schedule(name, envelope, delayMs - step);
      else this.enqueue(queue, envelope);
    }, step);
    timer.unref();
    queue.delayed.add(timer);
  }

  private enqueue(queue: LocalQueue, envelope: Envelope): void {
    if (!queue.runner) {
      queue.pending.push(envelope);
      return;
    }
    const urgent = (envelope.spec.options?.priority ?? JobPriority.Normal) < JobPriority.Normal;
    const promise = urgent ? queue.runner.unshift(envelope) : queue.runner.push(envelope);
    promise.catch(() => undefined);
  }

  private async run(name: QueueName, envelope: Envelope): Promise<void> {
    const queue = this.queue(name);
    const { job, spec } = envelope;
    try {
      await this.jobScope.runInAsyncScope(() => queue.handler!(job));
      queue.ids.delete(job.id);
    } catch (error) {
      const attempts = spec.options?.attempts ?? DEFAULT_ATTEMPTS;
      const reason = error instanceof Error ? error.message : String(error);
      job.attemptsMade += 1;
      if (error instanceof PermanentJobError || job.attemptsMade >= attempts || this.closed) {
        queue.ids.delete(job.id);
        queue.failed.push({ job, reason });
        if (queue.failed.length > 1000) queue.failed.shift();
        this.logger.warn(`job ${name}/${job.name}#${job.id} failed for good: ${reason}`);
        return;
      }
      const backoff = (spec.options?.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** (job.attemptsMade - 1);
      this.schedule(name, envelope, backoff);
    }
  }
}

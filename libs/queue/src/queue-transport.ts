import type { JobHandler, JobSpec, QueueCounts } from './job';
import type { QueueName } from './queue-names';

/** The seam between the code that enqueues and processes jobs and where jobs live. */
export abstract class QueueTransport {
  abstract readonly kind: 'bull' | 'in-process';
  abstract add<T>(queue: QueueName, job: JobSpec<T>): Promise<void>;
  abstract addBulk<T>(queue: QueueName, jobs: JobSpec<T>[]): Promise<void>;
  /** Starts consuming: called by the worker only. */
  abstract process<T>(queue: QueueName, concurrency: number, handler: JobHandler<T>): void;
  abstract counts(queue: QueueName): Promise<QueueCounts>;
  /** Removes every job of the queue (tests, and operators recovering from a poisoned queue). */
  abstract empty(queue: QueueName): Promise<void>;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}

/** What a processor receives, whatever the transport. */
export interface QueueJob<T = unknown> {
  id: string;
  name: string;
  data: T;
  /** attempts already made before this one */
  attemptsMade: number;
}

export interface JobOptions {
  /** A duplicate id is ignored while the first job exists (deterministic ids prevent duplicate messages). */
  jobId?: string;
  priority?: number;
  delayMs?: number;
  /** total attempts, default 5 */
  attempts?: number;
  /** first backoff delay, doubled each attempt; default 1000 ms */
  backoffMs?: number;
}

export interface JobSpec<T = unknown> {
  name: string;
  data: T;
  options?: JobOptions;
}

export type JobHandler<T = unknown> = (job: QueueJob<T>) => Promise<void>;

export interface QueueCounts {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** Thrown by a processor when retrying cannot help: the job ends at once, kept as failed. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 1000;

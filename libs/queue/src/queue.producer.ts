import { Injectable } from '@nestjs/common';
import type { JobSpec } from './job';
import type { QueueName } from './queue-names';
import { QueueTransport } from './queue-transport';

/** What producers in the domain libs call to enqueue work. */
@Injectable()
export class QueueProducer {
  constructor(private readonly transport: QueueTransport) {}

  enqueue<T>(queue: QueueName, job: JobSpec<T>): Promise<void> {
    return this.transport.add(queue, job);
  }

  enqueueMany<T>(queue: QueueName, jobs: JobSpec<T>[]): Promise<void> {
    return this.transport.addBulk(queue, jobs);
  }
}

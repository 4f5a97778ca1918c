import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { gauge } from '@app/core';
import { ALL_QUEUES, QueueTransport } from '@app/queue';

/** The transports whose depth /metrics reports (several apps may share a process, as in tests). */
const transports = new Set<QueueTransport>();

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

const queueJobs = gauge({
  name: 'filodiretto_queue_jobs',
  help: 'Jobs per queue and state, read from the queue transport when scraped',
  labelNames: ['queue', 'state'] as const,
});

// Collected on scrape: the newest live transport answers.
(queueJobs as unknown as { collect: () => Promise<void> }).collect = async function collect(): Promise<void> {
  const transport = [...transports].pop();
  if (!transport) return;
  queueJobs.reset();
  await Promise.all(
    ALL_QUEUES.map(async (name) => {
      try {
        const counts = await transport.counts(name);
        for (const state of STATES) queueJobs.set({ queue: name, state }, counts[state]);
      } catch {
        // An unreachable Redis shows as missing series; /health reports it.
      }
    }),
  );
};

/** Registers this process's queue transport with the queue-depth gauge. */
@Injectable()
export class QueueDepthMetrics implements OnModuleInit, OnModuleDestroy {
  constructor(private readonly transport: QueueTransport) {}

  onModuleInit(): void {
    transports.add(this.transport);
  }

  onModuleDestroy(): void {
    transports.delete(this.transport);
  }
}

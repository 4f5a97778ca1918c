import { BullModule, getQueueToken } from '@nestjs/bull';
import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bull';
import { AppConfig } from '@app/core';
import { ALL_QUEUES, QueueName } from './queue-names';
import { QueueTransport } from './queue-transport';
import { BullTransport } from './transports/bull.transport';
import { InProcessTransport } from './transports/in-process.transport';
import { QueueProducer } from './queue.producer';

class QueueLifecycle implements OnApplicationShutdown {
  constructor(@Inject(QueueTransport) private readonly transport: QueueTransport) {}

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close();
  }
}

/** Bull on Redis when `REDIS_URL` is set, otherwise the in-process transport. */
@Global()
@Module({})
export class QueueModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (!config.redisUrl) {
      return {
        module: QueueModule,
        providers: [{ provide: QueueTransport, useValue: new InProcessTransport() }, QueueProducer, QueueLifecycle],
        exports: [QueueTransport, QueueProducer],
      };
    }
    const redisUrl = config.redisUrl;
    return {
      module: QueueModule,
      imports: [
        BullModule.forRoot({
          redis: redisUrl,
          prefix: `{${config.queuePrefix}}`,
          // A dead worker's jobs go back to the queue once their lock lapses, at the next stalled-job check.
          settings: { lockDuration: config.queueLockSeconds * 1000, stalledInterval: config.queueLockSeconds * 1000 },
        }),
        BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
      ],
      providers: [
        {
          provide: QueueTransport,
          inject: ALL_QUEUES.map((name) => getQueueToken(name)),
          useFactory: (...queues: Queue[]) => new BullTransport(new Map(ALL_QUEUES.map((name, i) => [name as QueueName, queues[i]]))),
        },
        QueueProducer,
        QueueLifecycle,
      ],
      exports: [QueueTransport, QueueProducer, BullModule],
    };
  }
}

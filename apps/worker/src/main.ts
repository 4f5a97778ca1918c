import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ConfigValidationError } from '@app/core';
import { QueueTransport } from '@app/queue';
import { bootRuntime, closeOnSignals } from '@app/runtime';
import { WorkerModule } from './worker.module';

/** The worker role alone: consumes the queues; scale it out by running more of them. */
async function main(): Promise<void> {
  const runtime = await bootRuntime();
  @Module({ imports: [...runtime.modules, WorkerModule] })
  class WorkerRootModule {}
  const app = await NestFactory.createApplicationContext(WorkerRootModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  closeOnSignals(async () => {
    // Drain first: stop taking jobs and let those in hand finish while the database, Redis and the
    // Graph client are still open (app.close() tears those down in onModuleDestroy, before queues close).
    await app.get(QueueTransport).close();
    await app.close();
    await runtime.shutdown();
  });
  console.log(`Filodiretto worker started (${runtime.config.usesRedis ? 'Bull on Redis' : 'in-process queue'})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigValidationError ? error.message : error);
  process.exit(1);
});

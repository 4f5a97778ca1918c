import { INestApplication, Module, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'crypto';
import { AddressInfo } from 'net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AppConfig, loadAppConfig } from '@app/core';
import { ALL_QUEUES, QueueTransport } from '@app/queue';
import { bootRuntime } from '@app/runtime';
import { ApiModule } from '../../../apps/api/src/api.module';
import { configureHttpApp } from '../../../apps/api/src/http-app';
import { WorkerModule } from '../../../apps/worker/src/worker.module';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  dataSource: DataSource;
  transport: QueueTransport;
  /** supertest bound to the running server */
  http: () => ReturnType<typeof request>;
  /** the running server's base URL, for clients other than supertest (a fake provider's webhooks) */
  url: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** also run the worker's processors in this process (default true) */
  worker?: boolean;
  /** extra environment (e.g. WHATSAPP_GRAPH_URL of a fake Graph API) */
  env?: Record<string, string>;
  /** replace providers (e.g. the Clock) */
  overrides?: { provide: Type | string | symbol; useValue: unknown }[];
}

/**
 * The real application (API, and the worker unless told otherwise) on the test database and
 * Redis, with a queue prefix of its own so that test files never see each other's jobs.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadAppConfig({
    ...process.env,
    QUEUE_PREFIX: `test-${randomBytes(4).toString('hex')}`,
    ...options.env,
  });
  const runtime = await bootRuntime({ config, runMigrations: false, poolSize: 10 });
  const roles = options.worker === false ? [ApiModule] : [ApiModule, WorkerModule];
  @Module({ imports: [...runtime.modules, ...roles] })
  class TestRootModule {}
  let builder = Test.createTestingModule({ imports: [TestRootModule] });
  for (const override of options.overrides ?? []) builder = builder.overrideProvider(override.provide).useValue(override.useValue);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ rawBody: true, logger: false });
  configureHttpApp(app);
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer();
  const transport = app.get(QueueTransport);
  return {
    app,
    config,
    dataSource: app.get(DataSource),
    transport,
    http: () => request(server),
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const queue of ALL_QUEUES) await transport.empty(queue).catch(() => undefined);
      // Let jobs in hand finish before onModuleDestroy closes what they use (as the worker does on SIGTERM).
      await transport.close();
      await app.close();
      await runtime.shutdown();
    },
  };
}

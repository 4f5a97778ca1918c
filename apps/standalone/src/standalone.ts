import { INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { PlatformAdminBootstrap, PlatformAdminOutcome } from '@app/auth';
import { AppConfig } from '@app/core';
import { QueueTransport } from '@app/queue';
import { bootRuntime, closeOnSignals, Runtime } from '@app/runtime';
import { ApiModule } from '../../api/src/api.module';
import { configureHttpApp } from '../../api/src/http-app';
import { WorkerModule } from '../../worker/src/worker.module';

export interface Standalone {
  app: INestApplication;
  runtime: Runtime;
  url: string;
  operatorPassword: string | null;
  /** whether this start created the operator's account (with operatorPassword, or PLATFORM_ADMIN_PASSWORD) */
  operatorAccount: PlatformAdminOutcome;
}

/** API and worker in one process: the embedded default (`npm start`), also usable with Postgres and Redis. */
export async function startStandalone(config?: AppConfig): Promise<Standalone> {
  const runtime = await bootRuntime({ config });
  @Module({ imports: [...runtime.modules, ApiModule, WorkerModule] })
  class StandaloneModule {}
  const app = await NestFactory.create<NestExpressApplication>(StandaloneModule, { rawBody: true, bufferLogs: true });
  configureHttpApp(app);
  const originalClose = app.close.bind(app);
  app.close = async () => {
    // Drain the queues first, while the database, Redis and the Graph client are still open
    // (Nest's onModuleDestroy closes those before the queue transport's shutdown hook runs).
    await app.get(QueueTransport).close();
    await originalClose();
    await runtime.shutdown();
  };
  closeOnSignals(() => app.close());
  await app.listen(runtime.config.port, '0.0.0.0');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    runtime,
    url: `http://localhost:${address.port}`,
    operatorPassword: app.get(PlatformAdminBootstrap).generatedPassword,
    operatorAccount: app.get(PlatformAdminBootstrap).outcome,
  };
}

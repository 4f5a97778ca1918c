import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigValidationError } from '@app/core';
import { bootRuntime, closeOnSignals } from '@app/runtime';
import { ApiModule } from './api.module';
import { configureHttpApp } from './http-app';

/** The API role alone (production: run the worker as its own process). */
async function main(): Promise<void> {
  const runtime = await bootRuntime();
  @Module({ imports: [...runtime.modules, ApiModule] })
  class ApiRootModule {}
  const app = await NestFactory.create<NestExpressApplication>(ApiRootModule, { rawBody: true, bufferLogs: true });
  configureHttpApp(app);
  closeOnSignals(async () => {
    await app.close();
    await runtime.shutdown();
  });
  await app.listen(runtime.config.port);
  console.log(`Filodiretto API listening on http://localhost:${runtime.config.port} (docs: /docs)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigValidationError ? error.message : error);
  process.exit(1);
});

/**
 * What every benchmark needs: a database of its own on DATABASE_URL's server (dropped at the end
 * unless BENCH_KEEP=1), the real application on it in production mode (API, and the worker when
 * asked), and one approved comune with its admin logged in.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { loadAppConfig } from '@app/core';
import { ALL_QUEUES, QueueTransport } from '@app/queue';
import { bootRuntime } from '@app/runtime';
import { ApiModule } from '../apps/api/src/api.module';
import { configureHttpApp } from '../apps/api/src/http-app';
import { WorkerModule } from '../apps/worker/src/worker.module';

// A benchmark is a script: its knobs come from its own command line environment.
export const benchEnv = process.env;

export const log = (message: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

export async function withClient<T>(url: string, run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export interface BenchAppOptions {
  /** part of the database name */
  label: string;
  /** run the worker's processors too (default false) */
  worker?: boolean;
  /** Redis for Bull (default: the in-process queue) */
  redisUrl?: string;
  /** extra configuration (e.g. WHATSAPP_GRAPH_URL) */
  env?: Record<string, string>;
  poolSize?: number;
  population?: number;
}

export interface BenchApp {
  base: string;
  databaseUrl: string;
  dataSource: DataSource;
  tenantId: string;
  adminToken: string;
  operatorToken: string;
  /** JSON call to the API; throws on a non-2xx answer */
  call<T = Record<string, string>>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  close(): Promise<void>;
}

export async function startBenchApp(options: BenchAppOptions): Promise<BenchApp> {
  const server = new URL(benchEnv.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  server.pathname = '/postgres';
  const database = `filodiretto_bench_${options.label}_${randomBytes(3).toString('hex')}`;
  await withClient(server.href, (db) => db.query(`CREATE DATABASE "${database}"`));
  const url = new URL(server.href);
  url.pathname = `/${database}`;
  const operator = { email: 'operator@bench.example', password: 'operator-password-bench' };
  const config = loadAppConfig({
    DATABASE_URL: url.href,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl, QUEUE_PREFIX: `bench-${options.label}-${randomBytes(3).toString('hex')}` } : {}),
    JWT_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    PLATFORM_ADMIN_EMAIL: operator.email,
    PLATFORM_ADMIN_PASSWORD: operator.password,
    MIGRATIONS_RUN: 'true',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'production',
    ...options.env,
  });
  const runtime = await bootRuntime({ config, runMigrations: true, poolSize: options.poolSize ?? 10 });
  @Module({ imports: [...runtime.modules, ApiModule, ...(options.worker ? [WorkerModule] : [])] })
  class BenchModule {}
  const app = await NestFactory.create<NestExpressApplication>(BenchModule, { logger: false, rawBody: true });
  configureHttpApp(app);
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;

  const call = async <T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : null) as T;
  };
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const slug = `banco-${randomBytes(3).toString('hex')}`;
  const admin = { email: `urp@${slug}.example`, password: 'password-del-banco' };
  const tenant = await call<{ id: string }>('POST', '/v1/tenants/signup', { name: 'Comune di Banco', slug, adminEmail: admin.email, adminPassword: admin.password, population: options.population });
  const operatorToken = (await call<{ accessToken: string }>('POST', '/v1/auth/login', operator)).accessToken;
  await call('POST', `/v1/admin/tenants/${tenant.id}/approve`, {}, bearer(operatorToken));
  const adminToken = (await call<{ accessToken: string }>('POST', '/v1/auth/login', admin)).accessToken;

  return {
    base,
    databaseUrl: url.href,
    dataSource: app.get(DataSource),
    tenantId: tenant.id,
    adminToken,
    operatorToken,
    call,
    async close() {
      const transport = app.get(QueueTransport);
      for (const queue of ALL_QUEUES) await transport.empty(queue).catch(() => undefined);
      await app.close();
      await runtime.shutdown();
      if (benchEnv.BENCH_KEEP === '1') log(`kept database ${database}`);
      else await withClient(server.href, (db) => db.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
    },
  };
}

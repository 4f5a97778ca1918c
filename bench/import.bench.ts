/**
 * CSV import at scale: BENCH_ROWS rows (default 100,000; ~1% duplicates and ~0.5% invalid phones)
 * through `POST /v1/subscribers/import` over HTTP, then a second import of the same file (all
 * updates). Prints rows/s for both. Target: 100,000 rows in under 30 s.
 *
 *   npm run bench:import
 *   BENCH_ROWS=500000 npm run bench:import
 *
 * Uses DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres) with a database
 * of its own, dropped at the end unless BENCH_KEEP=1. No Redis: the in-process queue transport.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { loadAppConfig } from '@app/core';
import { bootRuntime } from '@app/runtime';
import { ApiModule } from '../apps/api/src/api.module';
import { configureHttpApp } from '../apps/api/src/http-app';

// The bench is a script: its knobs come from its own command line environment.
const env = process.env;
const ROWS = Number(env.BENCH_ROWS ?? 100_000);
const SERVER_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TOPICS = ['meteo', 'viabilita', 'acqua', 'farmacie', 'eventi'];

const log = (message: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function buildCsv(rows: number): string {
  const lines = ['phone,name,topics'];
  for (let i = 0; i < rows; i++) {
    if (i % 200 === 199) {
      lines.push(`non-valido-${i},Persona ${i},meteo`);
      continue;
    }
    const n = i % 100 === 99 ? i - 1 : i; // ~1% repeat the previous number: merged
    const phone = i % 3 === 0 ? `+39 347 ${String(n).padStart(7, '0')}` : i % 3 === 1 ? `347${String(n).padStart(7, '0')}` : `0039347${String(n).padStart(7, '0')}`;
    lines.push(`${phone},Persona ${i},${TOPICS[i % TOPICS.length]}|${TOPICS[(i + 2) % TOPICS.length]}`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const database = `filodiretto_bench_import_${randomBytes(3).toString('hex')}`;
  const server = new URL(SERVER_URL);
  await adminQuery(server.href, `CREATE DATABASE "${database}"`);
  const url = new URL(server.href);
  url.pathname = `/${database}`;
  const operator = { email: 'operator@bench.example', password: 'operator-password-bench' };
  const config = loadAppConfig({
    DATABASE_URL: url.href,
    JWT_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    PLATFORM_ADMIN_EMAIL: operator.email,
    PLATFORM_ADMIN_PASSWORD: operator.password,
    MIGRATIONS_RUN: 'true',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'production',
  });
  const runtime = await bootRuntime({ config, runMigrations: true, poolSize: 10 });
  @Module({ imports: [...runtime.modules, ApiModule] })
  class BenchModule {}
  const app = await NestFactory.create<NestExpressApplication>(BenchModule, { logger: false, rawBody: true });
  configureHttpApp(app);
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  try {
    const call = async (path: string, body: unknown, token?: string) => {
      const response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<Record<string, string>>;
    };
    const tenant = await call('/v1/tenants/signup', { name: 'Comune di Banco', slug: 'banco', adminEmail: 'urp@banco.example', adminPassword: 'password-del-banco' });
    await call(`/v1/admin/tenants/${tenant.id}/approve`, {}, (await call('/v1/auth/login', operator)).accessToken);
    const token = (await call('/v1/auth/login', { email: 'urp@banco.example', password: 'password-del-banco' })).accessToken;
    const channel = await call('/v1/channels', { name: 'Banco', provider: 'sandbox' }, token);
    for (const key of TOPICS) await call('/v1/topics', { key, name: key }, token);

    const csv = buildCsv(ROWS);
    log(`CSV of ${ROWS.toLocaleString('en')} rows, ${(csv.length / 1e6).toFixed(1)} MB`);
    for (const round of ['first import (inserts)', 'same file again (updates)']) {
      const form = new FormData();
      form.append('channelId', channel.id);
      form.append('file', new Blob([csv], { type: 'text/csv' }), 'iscritti.csv');
      const started = process.hrtime.bigint();
      const response = await fetch(`${base}/v1/subscribers/import`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const result = (await response.json()) as { imported: number; updated: number; rejected: unknown[] };
      if (!response.ok) throw new Error(`import: ${response.status} ${JSON.stringify(result)}`);
      log(
        `${round}: ${ROWS.toLocaleString('en')} rows in ${seconds.toFixed(2)} s = ${Math.round(ROWS / seconds).toLocaleString('en')} rows/s ` +
          `(imported ${result.imported}, updated ${result.updated}, rejected ${result.rejected.length})`,
      );
    }
  } finally {
    await app.close();
    await runtime.shutdown();
    if (env.BENCH_KEEP !== '1') await adminQuery(server.href, `DROP DATABASE "${database}" WITH (FORCE)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

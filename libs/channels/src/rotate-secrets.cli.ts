/*
 * `npm run secrets:rotate [-- --tenant=<uuid>]`: re-seals every channel secret with the current
 * ENCRYPTION_KEY. Key rotation: deploy with ENCRYPTION_KEY = new key, ENCRYPTION_KEY_PREVIOUS =
 * old key and DIGEST_KEY = the key keyed hashes were made with; run this; then remove
 * ENCRYPTION_KEY_PREVIOUS. Exits 1 when a channel cannot be opened with either key.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadAppConfig } from '@app/core';
import { buildDataSourceOptions, startEmbeddedPostgres } from '@app/database';
import { rotateChannelSecrets } from './secrets-rotation';

async function main(): Promise<void> {
  const config = loadAppConfig();
  const tenantArg = process.argv.find((arg) => arg.startsWith('--tenant='));
  const tenantId = tenantArg ? tenantArg.slice('--tenant='.length) : undefined;
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres(config.dataDir);
  const dataSource = new DataSource({ ...buildDataSourceOptions({ url: config.databaseUrl ?? embedded!.url, poolSize: 1 }), entities: [] });
  await dataSource.initialize();
  try {
    const report = await rotateChannelSecrets(dataSource, config, { tenantId });
    console.log(
      `secrets:rotate: ${report.channels} channel(s) checked, ${report.resealed} re-sealed with the current key, ` +
        `${report.changedMeanwhile} changed meanwhile, ${report.unreadable.length} unreadable${report.unreadable.length ? ` (${report.unreadable.join(', ')})` : ''}`,
    );
    if (report.unreadable.length > 0) process.exitCode = 1;
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`secrets:rotate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

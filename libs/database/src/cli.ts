/* Runs or reverts migrations against DATABASE_URL (or the embedded database). */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadAppConfig } from '@app/core';
import { buildDataSourceOptions } from './data-source-options';
import { EMBEDDED_POOL_SIZE, startEmbeddedPostgres } from './embedded-postgres';

async function main(): Promise<void> {
  const command = process.argv[2];
  const config = loadAppConfig();
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres(config.dataDir);
  const url = config.databaseUrl ?? embedded!.url;
  const dataSource = new DataSource({
    ...buildDataSourceOptions({ url, poolSize: embedded ? EMBEDDED_POOL_SIZE : 2 }),
    entities: [`${__dirname}/../../**/*.entity.js`],
  });
  await dataSource.initialize();
  try {
    if (command === 'run') {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      console.log(`migrations: ${applied.length} applied`);
    } else if (command === 'revert') {
      await dataSource.undoLastMigration({ transaction: 'each' });
      console.log('migrations: last one reverted');
    } else if (command === 'generate') {
      const sql = await dataSource.driver.createSchemaBuilder().log();
      console.log(sql.upQueries.map((q) => `${q.query};`).join('\n') || '-- the schema matches the entities');
    } else {
      throw new Error('usage: cli.js run|revert|generate');
    }
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

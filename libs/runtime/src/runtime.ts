import { DynamicModule } from '@nestjs/common';
import { AppConfig, CoreModule, loadAppConfig } from '@app/core';
import { checkDatabase, DatabaseModule, EMBEDDED_POOL_SIZE, EmbeddedPostgres, startEmbeddedPostgres } from '@app/database';
import { checkRedis, QueueModule } from '@app/queue';
import { AuditModule } from '@app/audit';

/** What every process (API, worker, both) stands on: configuration, database, queue transport. */
export interface Runtime {
  config: AppConfig;
  databaseUrl: string;
  embeddedDatabase: EmbeddedPostgres | null;
  /** Modules to import at the root of the process. */
  modules: (DynamicModule | typeof AuditModule)[];
  shutdown(): Promise<void>;
}

export interface RuntimeOptions {
  config?: AppConfig;
  /** Run pending migrations at start (default: the configuration's choice). */
  runMigrations?: boolean;
  /** connections to PostgreSQL (not to the embedded database: always EMBEDDED_POOL_SIZE) */
  poolSize?: number;
}

export async function bootRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const config = options.config ?? loadAppConfig();
  const runMigrations = options.runMigrations ?? config.runMigrations;
  if (config.databaseUrl) await checkDatabase(config.databaseUrl, { expectSchema: !runMigrations });
  if (config.redisUrl) await checkRedis(config.redisUrl);
  const embeddedDatabase = config.databaseUrl ? null : await startEmbeddedPostgres(config.dataDir);
  const databaseUrl = config.databaseUrl ?? embeddedDatabase!.url;
  const modules = [
    CoreModule.forRoot(config),
    DatabaseModule.forRoot({
      url: databaseUrl,
      runMigrations,
      poolSize: embeddedDatabase ? EMBEDDED_POOL_SIZE : (options.poolSize ?? config.databasePoolSize ?? 20),
      preparedStatements: !embeddedDatabase,
    }),
    QueueModule.forRoot(config),
    AuditModule,
  ];
  return {
    config,
    databaseUrl,
    embeddedDatabase,
    modules,
    async shutdown() {
      await embeddedDatabase?.stop();
    },
  };
}

/**
 * Closes the application on SIGTERM/SIGINT (in-flight HTTP requests and jobs finish, queues and
 * connections close, the embedded database last), then exits.
 */
export function closeOnSignals(close: () => Promise<void>): void {
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (closing) return;
      closing = true;
      const forced = setTimeout(() => process.exit(1), 30_000);
      forced.unref();
      close()
        .then(() => process.exit(0))
        .catch((error: unknown) => {
          console.error(error);
          process.exit(1);
        });
    });
  }
}

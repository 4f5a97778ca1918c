import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import { SnakeNamingStrategy } from './snake-naming.strategy';

export interface DatabaseConnection {
  url: string;
  /** Pool size; PGlite multiplexes connections, a real server takes more. */
  poolSize?: number;
  runMigrations?: boolean;
  /** Hot-path statements as named prepared statements (default true; not on PGlite, one shared session). */
  preparedStatements?: boolean;
}

/** The one place TypeORM is configured: migrations only, never `synchronize`. */
export function buildDataSourceOptions(connection: DatabaseConnection): DataSourceOptions {
  return {
    type: 'postgres',
    url: connection.url,
    namingStrategy: new SnakeNamingStrategy(),
    migrations: MIGRATIONS,
    migrationsRun: connection.runMigrations ?? false,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    extra: { max: connection.poolSize ?? 20, application_name: 'filodiretto' },
    // Failed queries surface as errors where they are handled (the HTTP filter logs every 5xx
    // with its correlation id; the queue transports log failed jobs), not as console noise.
    logging: false,
  };
}

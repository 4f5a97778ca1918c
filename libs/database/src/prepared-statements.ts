import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DatabaseConnection } from './data-source-options';
import { driverPool } from './driver-pool';

/** The connection settings the database module was started with. */
export const DATABASE_CONNECTION = Symbol('DATABASE_CONNECTION');

interface PgPool {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Statements of the delivery hot path as named prepared statements: each pooled connection parses
 * and plans them once instead of at every call (the dispatch claim spent as long in the planner as
 * in execution). They go through the same pool, so the tenant context still applies. Not on the
 * embedded database: PGlite serves all connections from one session, where two connections
 * preparing the same name would collide; there they run as ordinary parameterised statements.
 */
@Injectable()
export class PreparedStatements {
  private readonly prepare: boolean;
  /** each statement's name, given at its first use: one name per text, never two texts per name */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(DATABASE_CONNECTION) connection: DatabaseConnection,
  ) {
    this.prepare = connection.preparedStatements ?? true;
  }

  /** Runs `text` (prepared once per connection when enabled); answers the rows. */
  async query<T>(text: string, values: unknown[]): Promise<T[]> {
    const pool = driverPool<PgPool>(this.dataSource);
    if (!pool) throw new Error('the database is not connected');
    if (!this.prepare) return (await pool.query({ text, values })).rows as T[];
    let name = this.names.get(text);
    if (!name) this.names.set(text, (name = `filodiretto_${this.names.size + 1}`));
    return (await pool.query({ name, text, values })).rows as T[];
  }
}

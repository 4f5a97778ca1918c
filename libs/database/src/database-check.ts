import { Client } from 'pg';
import { ConfigValidationError } from '@app/core';
import { MIGRATIONS } from '../../../migrations';

/**
 * SQLSTATEs of a server that answered and refused for good: no such database, bad credentials, no
 * permission to connect. Waiting does not mend them; the DATABASE_URL does.
 */
const REFUSED = new Set(['3D000', '28P01', '28000', '42501']);

export interface DatabaseCheckOptions {
  /** How long a server that does not answer yet (still starting, as under docker-compose) is waited for. */
  waitMs?: number;
  retryEveryMs?: number;
  /** The process will not run the migrations itself: the schema must be there already. */
  expectSchema?: boolean;
}

/**
 * Connects once to DATABASE_URL before the application is composed, so that a start against a
 * wrong URL stops at once with one line naming the variable and the server's reason, instead of
 * the ORM's retries, each with a stack. A server that does not answer yet is waited for.
 */
export async function checkDatabase(url: string, options: DatabaseCheckOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  for (;;) {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      try {
        if (options.expectSchema) await checkSchema(client);
      } finally {
        await client.end();
      }
      return;
    } catch (error) {
      if (error instanceof ConfigValidationError) throw error;
      await client.end().catch(() => undefined);
      const code = String((error as { code?: unknown }).code ?? '');
      const reason = `${(error as Error).message}${code ? ` (${code})` : ''}`;
      if (REFUSED.has(code)) throw new ConfigValidationError(`Invalid configuration: DATABASE_URL: the database refused the connection: ${reason}`);
      if (Date.now() >= deadline) throw new ConfigValidationError(`Invalid configuration: DATABASE_URL: no database answered at ${describe(url)}: ${reason}`);
      await new Promise((resolve) => setTimeout(resolve, options.retryEveryMs ?? 1_000));
    }
  }
}

/** Every migration this build knows is applied; otherwise one line saying how to apply them. */
async function checkSchema(client: Client): Promise<void> {
  const table = await client.query<{ exists: boolean }>(`SELECT to_regclass('public.migrations') IS NOT NULL AS exists`);
  const applied = table.rows[0].exists ? new Set((await client.query<{ name: string }>(`SELECT name FROM migrations`)).rows.map((row) => row.name)) : new Set<string>();
  const pending = MIGRATIONS.map((migration) => migration.name).filter((name) => !applied.has(name));
  if (pending.length === 0) return;
  const what = applied.size === 0 ? 'has no schema yet' : `lacks ${pending.length} migration(s) of this version (${pending[0]}${pending.length > 1 ? ', ...' : ''})`;
  throw new ConfigValidationError(`Invalid configuration: DATABASE_URL: the database ${what}: run \`npm run migration:run\` first, or start with MIGRATIONS_RUN=true`);
}

/** host:port/database of the URL, never its password. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return 'the configured address';
  }
}

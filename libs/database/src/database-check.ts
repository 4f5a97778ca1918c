import { Client } from 'pg';
import { ConfigValidationError } from '@app/core';

/**
 * SQLSTATEs of a server that answered and refused for good: no such database, bad credentials, no
 * permission to connect. Waiting does not mend them; the DATABASE_URL does.
 */
const REFUSED = new Set(['3D000', '28P01', '28000', '42501']);

export interface DatabaseCheckOptions {
  /** How long a server that does not answer yet (still starting, as under docker-compose) is waited for. */
  waitMs?: number;
  retryEveryMs?: number;
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
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      const code = String((error as { code?: unknown }).code ?? '');
      const reason = `${(error as Error).message}${code ? ` (${code})` : ''}`;
      if (REFUSED.has(code)) throw new ConfigValidationError(`Invalid configuration: DATABASE_URL: the database refused the connection: ${reason}`);
      if (Date.now() >= deadline) throw new ConfigValidationError(`Invalid configuration: DATABASE_URL: no database answered at ${describe(url)}: ${reason}`);
      await new Promise((resolve) => setTimeout(resolve, options.retryEveryMs ?? 1_000));
    }
  }
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

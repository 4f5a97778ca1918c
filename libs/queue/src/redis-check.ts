import Redis from 'ioredis';
import { ConfigValidationError } from '@app/core';

export interface RedisCheckOptions {
  /** How long a server that does not answer yet (still starting, as under docker-compose) is waited for. */
  waitMs?: number;
  retryEveryMs?: number;
}

/** Refusals a wait does not mend: a password Redis does not take, or one it needs. */
const REFUSED = /NOAUTH|WRONGPASS|without any password configured|invalid password|invalid username-password/i;

/**
 * Pings REDIS_URL once before the application is composed, as checkDatabase does for PostgreSQL:
 * a Redis that refuses the credentials stops the start at once, one that does not answer is
 * waited for and then named in one line, instead of the client's reconnection errors, each with
 * its stack, for as long as the process runs.
 */
export async function checkRedis(url: string, options: RedisCheckOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    // The client's own account of a failed connection (ECONNREFUSED...) comes as an event; the promise says only "closed".
    let cause: Error | null = null;
    client.on('error', (error: Error) => (cause = error));
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch (error) {
      client.disconnect();
      const reason = ((cause as Error | null) ?? (error as Error)).message.split('\n')[0];
      if (REFUSED.test(reason)) throw new ConfigValidationError(`Invalid configuration: REDIS_URL: Redis refused the connection: ${reason}`);
      if (Date.now() >= deadline) throw new ConfigValidationError(`Invalid configuration: REDIS_URL: no Redis answered at ${describe(url)}: ${reason}`);
      await new Promise((resolve) => setTimeout(resolve, options.retryEveryMs ?? 1_000));
    }
  }
}

/** host:port of the URL, never its password. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 6379}`;
  } catch {
    return 'the configured address';
  }
}

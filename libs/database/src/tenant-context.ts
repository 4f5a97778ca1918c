import { AsyncLocalStorage } from 'async_hooks';
import type { DataSource } from 'typeorm';
import { driverPool } from './driver-pool';

/**
 * Defence in depth under the tenant-scoped repositories: while code runs inside a tenant's
 * context (an authenticated tenant request), every connection it takes from the pool has the
 * PostgreSQL setting `app.tenant_id` set to that tenant, and row-level security policies hide
 * every other tenant's rows. Outside a tenant context (workers, webhooks, the operator, public
 * routes) the setting is empty and the policies let the query through.
 */
const storage = new AsyncLocalStorage<{ tenantId: string }>();

export function runInTenantContext<T>(tenantId: string, work: () => T): T {
  return storage.run({ tenantId }, work);
}

export const currentTenantContext = (): string | null => storage.getStore()?.tenantId ?? null;

type PoolClient = { query(sql: string, values: unknown[]): Promise<unknown>; filodirettoTenant?: string };
type ConnectCallback = (error: Error | undefined, client: PoolClient | undefined, release: (error?: Error) => void) => void;
interface Pool {
  connect(callback?: ConnectCallback): Promise<PoolClient> | void;
  filodirettoTenantContext?: boolean;
}

const SET_TENANT = `SELECT set_config('app.tenant_id', $1, false)`;

/** Sets the connection's tenant to the caller's context, unless it already has it. */
async function bindTenant(client: PoolClient, tenantId: string): Promise<void> {
  if (client.filodirettoTenant === tenantId) return;
  await client.query(SET_TENANT, [tenantId]);
  client.filodirettoTenant = tenantId;
}

/** Wraps the data source's pool so that each checkout carries the caller's tenant context. */
export function installTenantContext(dataSource: DataSource): void {
  const pool = driverPool<Pool>(dataSource);
  if (!pool || pool.filodirettoTenantContext) return;
  pool.filodirettoTenantContext = true;
  const connect = pool.connect.bind(pool) as Pool['connect'];
  pool.connect = ((callback?: ConnectCallback) => {
    // Captured at the call, in the caller's async context (not when a client frees up).
    const tenantId = currentTenantContext() ?? '';
    if (!callback) {
      return (connect() as Promise<PoolClient>).then(async (client) => {
        await bindTenant(client, tenantId);
        return client;
      });
    }
    connect((error, client, release) => {
      if (error || !client) return callback(error, client, release);
      bindTenant(client, tenantId).then(
        () => callback(undefined, client, release),
        (bindError: Error) => {
          release(bindError);
          callback(bindError, undefined, () => undefined);
        },
      );
    });
  }) as Pool['connect'];
}

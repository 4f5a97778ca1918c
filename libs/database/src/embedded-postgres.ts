import { mkdirSync } from 'fs';
import { join } from 'path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Connections a process may open to the embedded database: one. PGlite is a single session, and
 * its socket server runs the protocol messages of all its connections one by one in arrival order
 * (keeping to one connection only while a transaction is open). Two pooled connections therefore
 * interleave their statements: one's Parse replaces the other's unnamed statement between its
 * Parse and its Bind, and the other then runs a statement that is not its own (an error when the
 * parameter counts differ, a wrong answer when they match). One pooled connection sends one
 * statement at a time.
 */
export const EMBEDDED_POOL_SIZE = 1;

/**
 * Starts PostgreSQL in-process (PGlite, data under `dataDir/pgdata`) behind a socket on
 * 127.0.0.1, so that `pg` and TypeORM connect to it exactly as to a server.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = join(dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  // A few, so that a connection replacing a closed one is not refused while the old one is let go.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

import { mkdirSync } from 'fs';
import { join } from 'path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import * as lockfile from 'proper-lockfile';
import { ConfigValidationError } from '@app/core';

/** A data folder another process runs the embedded database of: this one does not start (one line, as a bad setting). */
export class DataDirInUseError extends ConfigValidationError {}

/**
 * How the embedded database's folder is held: a lock beside it, renewed every UPDATE_MS while this
 * process lives, taken over once not renewed for STALE_MS (a process that was killed). A start
 * retries for a little longer than that, so a restart right after a crash waits instead of failing.
 */
const LOCK = { STALE_MS: 10_000, UPDATE_MS: 2_000, RETRIES: 14, RETRY_MS: 1_000 };

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
 * 127.0.0.1, so that `pg` and TypeORM connect to it exactly as to a server. One process at a time:
 * PGlite is a single session on its files, and two processes writing them corrupted the folder
 * (each saw only its own writes, and the next start aborted). A second start on a folder in use
 * throws DataDirInUseError.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = join(dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  const release = await lockDataDir(dir);
  let db: PGlite;
  try {
    db = await PGlite.create(dir);
  } catch (error) {
    await release();
    throw error;
  }
  // A few, so that a connection replacing a closed one is not refused while the old one is let go.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
      await release();
    },
  };
}

async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  try {
    const release = await lockfile.lock(dir, {
      stale: LOCK.STALE_MS,
      update: LOCK.UPDATE_MS,
      retries: { retries: LOCK.RETRIES, minTimeout: LOCK.RETRY_MS, maxTimeout: LOCK.RETRY_MS, factor: 1 },
      // Lost (not renewed in time: the process stalled for seconds): stop rather than risk two writers.
      onCompromised: (error) => {
        console.error(`The embedded database's folder ${dir} is no longer held by this process (${error.message}): stopping, so that two processes never write it`);
        process.exit(1);
      },
    });
    return () => release().catch(() => undefined);
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') {
      throw new DataDirInUseError(`DATA_DIR ${dir.replace(/\/pgdata$/, '')} is in use by another Filodiretto process: stop it first, or give this one a DATA_DIR of its own`);
    }
    throw error;
  }
}

import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'fs';
import { join } from 'path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ConfigValidationError } from '@app/core';

/** A data folder another process runs the embedded database of: this one does not start (one line, as a bad setting). */
export class DataDirInUseError extends ConfigValidationError {}

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
  const release = lockDataDir(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create(dir);
  } catch (error) {
    release();
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
      release();
    },
  };
}

/**
 * Holds the data folder for this process: a file naming its pid, created only if absent. One
 * naming a process that no longer runs (killed, the machine restarted) is taken over at once. A
 * pid rather than a lock renewed on a timer: PGlite runs in this thread, so a long statement (a big
 * import) holds the event loop, and a timer-renewed lock would lapse under it. Answers the release.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'filodiretto.pid');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          // gone already
        }
      };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      // (Our own pid: a container's process 1 finding the file its previous run left.)
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
        throw new DataDirInUseError(`DATA_DIR ${dataDir} is in use by another Filodiretto process (pid ${holder}): stop it first, or give this one a DATA_DIR of its own`);
      }
      unlinkSync(file);
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}

import { isIP } from 'net';
import { randomBytes } from 'crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { ConfigValidationError, validateEnvironment } from './environment';

export type RuntimeMode = 'embedded' | 'production';

/**
 * The typed configuration every part of the platform reads. It is built once, at boot, from the
 * environment (see `.env.example`); nothing else reads `process.env`.
 */
export class AppConfig {
  nodeEnv: string;
  port: number;
  mode: RuntimeMode;
  dataDir: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  queuePrefix: string;
  /**
   * How long a job stays locked to its worker without a renewal (Bull's lockDuration, also its
   * stalled-job check interval): a dead worker's jobs are taken over after one to two of these.
   */
  queueLockSeconds: number;
  runMigrations: boolean;
  platformAdmin: { email: string; password: string | null; generated: boolean };
  jwt: { secret: string; accessTtlSeconds: number; refreshTtlSeconds: number };
  encryptionKey: Buffer;
  /** The key before the current one, while channel secrets are re-sealed (key rotation). */
  encryptionKeyPrevious: Buffer | null;
  /** Key of keyed hashes (suppressed contacts): ENCRYPTION_KEY unless DIGEST_KEY is set. */
  digestKey: Buffer;
  /** maxConnections: keep-alive connections to the Graph API per process (sends in flight at most) */
  whatsapp: { graphUrl: string; apiVersion: string; maxConnections: number };
  logLevel: string;
  /** Express's `trust proxy`: whose X-Forwarded-For names the client (a hop count or a list) */
  trustProxy: string | number;
  webhookRetentionDays: number;
  /** Days after which deliveries of finished campaigns lose recipient and error detail; null keeps them. */
  deliveryDetailRetentionDays: number | null;
  publicBaseUrl: string | null;
  /** Delivery pipeline: reconciler period, when a queued/sending delivery counts as stuck, dispatch concurrency. */
  delivery: {
    reconcileIntervalMs: number;
    stuckDeliverySeconds: number;
    /**
     * How long a send whose outcome is unknown (the answer lost: timeout, connection cut after the
     * request left) waits for Meta's status webhook, which names the delivery, before it is sent again.
     */
    uncertainHoldSeconds: number;
    dispatchConcurrency: number;
    /** normal campaign fan-outs one process runs at once (emergencies are never held back) */
    launchConcurrency: number;
  };
  /** Connections per process to PostgreSQL; null: the runtime's default for the role. */
  databasePoolSize: number | null;

  get usesRedis(): boolean {
    return this.redisUrl !== null;
  }
}

function base64Key(value: string, name: string): Buffer {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) throw new ConfigValidationError(`Invalid configuration: ${name} must be 32 bytes, base64-encoded`);
  return key;
}

interface EmbeddedSecrets {
  jwtSecret: string;
  encryptionKey: string;
}

function loadOrCreateSecrets(dataDir: string): EmbeddedSecrets {
  const file = join(dataDir, 'secrets.json');
  try {
    mkdirSync(dataDir, { recursive: true });
    if (existsSync(file)) {
      const kept = JSON.parse(readFileSync(file, 'utf8')) as Partial<EmbeddedSecrets> | null;
      if (typeof kept?.jwtSecret !== 'string' || typeof kept?.encryptionKey !== 'string') throw new Error('it does not hold jwtSecret and encryptionKey');
      return kept as EmbeddedSecrets;
    }
    const secrets: EmbeddedSecrets = {
      jwtSecret: randomBytes(48).toString('base64url'),
      encryptionKey: randomBytes(32).toString('base64'),
    };
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    return secrets;
  } catch (error) {
    // One line, as for every other bad setting: the folder, or the secrets file in it, is not usable.
    const reason = (error as Error).message.split('\n')[0];
    throw new ConfigValidationError(
      existsSync(file)
        ? `DATA_DIR: ${file} cannot be read (${reason}): restore it from a backup (the channels' secrets are sealed with its key), or move it away to start afresh`
        : `DATA_DIR: ${dataDir} cannot hold the embedded data (${reason})`,
    );
  }
}

/**
 * Builds the configuration. With `DATABASE_URL` set the platform runs in production mode and
 * every secret must be given; without it, it runs embedded and generates missing secrets into
 * `DATA_DIR` on first start.
 */
export function loadAppConfig(raw: NodeJS.ProcessEnv = process.env): AppConfig {
  const env = validateEnvironment(raw);
  const config = new AppConfig();
  config.nodeEnv = env.NODE_ENV ?? 'development';
  config.port = env.PORT ?? 3000;
  config.dataDir = resolve(env.DATA_DIR ?? './.data');
  config.databaseUrl = env.DATABASE_URL ?? null;
  config.redisUrl = env.REDIS_URL ?? null;
  config.mode = config.databaseUrl ? 'production' : 'embedded';
  config.queuePrefix = env.QUEUE_PREFIX ?? 'filodiretto';
  config.queueLockSeconds = env.QUEUE_LOCK_SECONDS ?? 30;
  config.runMigrations = env.MIGRATIONS_RUN ? env.MIGRATIONS_RUN === 'true' : config.mode === 'embedded';
  config.logLevel = env.LOG_LEVEL ?? (config.nodeEnv === 'test' ? 'silent' : 'info');
  config.trustProxy = trustedProxies(env.TRUST_PROXY);
  config.whatsapp = {
    graphUrl: (env.WHATSAPP_GRAPH_URL ?? 'https://graph.facebook.com').replace(/\/+$/, ''),
    apiVersion: env.WHATSAPP_API_VERSION ?? 'v25.0',
    maxConnections: env.WHATSAPP_MAX_CONNECTIONS ?? 2048,
  };
  config.webhookRetentionDays = env.WEBHOOK_RETENTION_DAYS ?? 30;
  config.deliveryDetailRetentionDays = env.DELIVERY_DETAIL_RETENTION_DAYS ?? null;
  config.publicBaseUrl = env.PUBLIC_BASE_URL ?? null;
  config.delivery = {
    reconcileIntervalMs: env.RECONCILE_INTERVAL_MS ?? 30_000,
    stuckDeliverySeconds: env.STUCK_DELIVERY_SECONDS ?? 120,
    uncertainHoldSeconds: env.UNCERTAIN_HOLD_SECONDS ?? 60,
    dispatchConcurrency: env.DISPATCH_CONCURRENCY ?? 16,
    launchConcurrency: env.LAUNCH_CONCURRENCY ?? 2,
  };
  config.databasePoolSize = env.DATABASE_POOL_SIZE ?? null;

  let jwtSecret = env.JWT_SECRET;
  let encryptionKey = env.ENCRYPTION_KEY;
  if (config.mode === 'production') {
    if (!jwtSecret) throw new ConfigValidationError('Missing configuration: JWT_SECRET is required when DATABASE_URL is set');
    if (!encryptionKey) throw new ConfigValidationError('Missing configuration: ENCRYPTION_KEY is required when DATABASE_URL is set');
  } else if (!jwtSecret || !encryptionKey) {
    const secrets = loadOrCreateSecrets(config.dataDir);
    jwtSecret ??= secrets.jwtSecret;
    encryptionKey ??= secrets.encryptionKey;
  }
  const key = Buffer.from(encryptionKey, 'base64');
  if (key.length !== 32) throw new ConfigValidationError('Invalid configuration: ENCRYPTION_KEY must be 32 bytes, base64-encoded');
  config.encryptionKey = key;
  config.encryptionKeyPrevious = env.ENCRYPTION_KEY_PREVIOUS ? base64Key(env.ENCRYPTION_KEY_PREVIOUS, 'ENCRYPTION_KEY_PREVIOUS') : null;
  if (config.encryptionKeyPrevious && !env.DIGEST_KEY) {
    // Keyed hashes of erased contacts cannot be re-keyed: they must keep the key they were made with.
    throw new ConfigValidationError('Invalid configuration: DIGEST_KEY is required with ENCRYPTION_KEY_PREVIOUS (set it to the key keyed hashes were made with, usually the previous ENCRYPTION_KEY)');
  }
  config.digestKey = env.DIGEST_KEY ? base64Key(env.DIGEST_KEY, 'DIGEST_KEY') : key;
  config.jwt = {
    secret: jwtSecret,
    accessTtlSeconds: env.JWT_ACCESS_TTL_SECONDS ?? 900,
    refreshTtlSeconds: env.JWT_REFRESH_TTL_SECONDS ?? 30 * 24 * 3600,
  };
  config.platformAdmin = {
    email: env.PLATFORM_ADMIN_EMAIL ?? 'operator@filodiretto.local',
    password: env.PLATFORM_ADMIN_PASSWORD ?? null,
    generated: !env.PLATFORM_ADMIN_PASSWORD,
  };
  return config;
}

/** TRUST_PROXY as Express takes it; every address of a list checked (the pattern only shapes it). */
function trustedProxies(value: string | undefined): string | number {
  if (!value) return 'loopback';
  if (/^\d+$/.test(value)) return Number(value);
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
    const [address, bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || (bits !== undefined && Number(bits) > (family === 4 ? 32 : 128))) {
      throw new ConfigValidationError(`Invalid configuration: TRUST_PROXY has ${entry}, which is neither an address, a CIDR range nor loopback, linklocal or uniquelocal`);
    }
  }
  return value;
}

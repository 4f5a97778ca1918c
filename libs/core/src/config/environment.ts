import { plainToInstance, Transform } from 'class-transformer';
import { IsBase64, IsEmail, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/** Every environment variable the platform reads, validated once at boot. */
export class Environment {
  @IsOptional() @IsIn(['development', 'production', 'test'])
  NODE_ENV?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT?: number;

  @IsOptional() @Transform(emptyToUndefined) @IsString()
  DATA_DIR?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsUrl({ protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true })
  DATABASE_URL?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsUrl({ protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true })
  REDIS_URL?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsEmail()
  PLATFORM_ADMIN_EMAIL?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(8)
  PLATFORM_ADMIN_PASSWORD?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(32)
  JWT_SECRET?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsBase64()
  ENCRYPTION_KEY?: string;

  /** During a key rotation: the key channel secrets may still be sealed with (`npm run secrets:rotate` re-seals them). */
  @IsOptional() @Transform(emptyToUndefined) @IsBase64()
  ENCRYPTION_KEY_PREVIOUS?: string;

  /** Key of the keyed hashes (erased contacts); defaults to ENCRYPTION_KEY and must outlive its rotations. */
  @IsOptional() @Transform(emptyToUndefined) @IsBase64()
  DIGEST_KEY?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  WHATSAPP_GRAPH_URL?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsString()
  WHATSAPP_API_VERSION?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  WHATSAPP_MAX_CONNECTIONS?: number;

  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  /**
   * Proxies whose X-Forwarded-For names the client (rate limits count per client address): a
   * comma-separated list of loopback, linklocal, uniquelocal, addresses or CIDR ranges, or a hop count.
   */
  @IsOptional() @Transform(emptyToUndefined)
  @Matches(/^(\d{1,2}|((loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?))*))$/, {
    message: 'TRUST_PROXY must be a hop count or a comma-separated list of loopback, linklocal, uniquelocal, addresses or CIDR ranges',
  })
  TRUST_PROXY?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsString()
  QUEUE_PREFIX?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(2) @Max(600)
  QUEUE_LOCK_SECONDS?: number;

  @IsOptional() @IsIn(['true', 'false'])
  MIGRATIONS_RUN?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(60)
  JWT_ACCESS_TTL_SECONDS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(300)
  JWT_REFRESH_TTL_SECONDS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  WEBHOOK_RETENTION_DAYS?: number;

  /** Recipient and error detail of deliveries of finished campaigns are cleared after this many days (counts stay). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  DELIVERY_DETAIL_RETENTION_DAYS?: number;

  @IsOptional() @Transform(emptyToUndefined) @IsUrl({ require_tld: false, require_protocol: true })
  PUBLIC_BASE_URL?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(50)
  RECONCILE_INTERVAL_MS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  STUCK_DELIVERY_SECONDS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  UNCERTAIN_HOLD_SECONDS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(256)
  DISPATCH_CONCURRENCY?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(64)
  LAUNCH_CONCURRENCY?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(2) @Max(500)
  DATABASE_POOL_SIZE?: number;
}

export class ConfigValidationError extends Error {}

/** Validates the raw environment; the first problem becomes a one-line message naming the variable. */
export function validateEnvironment(raw: NodeJS.ProcessEnv): Environment {
  const env = plainToInstance(Environment, { ...raw }, { enableImplicitConversion: false });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const first = errors[0];
    const reasons = Object.values(first.constraints ?? {}).map((reason) => reason.replace(`${first.property} `, ''));
    throw new ConfigValidationError(`Invalid configuration: ${first.property} ${reasons.reverse().join(', ') || 'is invalid'}`);
  }
  return env;
}

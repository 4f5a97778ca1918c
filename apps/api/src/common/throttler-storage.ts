import { Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { AppConfig } from '@app/core';

/** What a storage answers per hit (the throttler's record type, not exported by its package index). */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Where the HTTP rate limits (login, signup, public pages) count: in Redis when the platform has
 * one, so that every API process counts against the same limit (with N processes a per-process
 * count let N times the attempts through); in memory otherwise. While Redis does not answer, each
 * process counts on its own rather than refusing logins.
 */
@Injectable()
export class SharedThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(SharedThrottlerStorage.name);
  private readonly local = new ThrottlerStorageService();
  private readonly redis: ThrottlerStorageRedisService | null;
  private degraded = false;

  constructor(config: AppConfig) {
    this.redis = config.redisUrl
      ? new ThrottlerStorageRedisService(config.redisUrl, { keyPrefix: `${config.queuePrefix}:throttle:`, enableOfflineQueue: false, maxRetriesPerRequest: 1 })
      : null;
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    if (this.redis) {
      try {
        const record = await this.redis.increment(key, ttl, limit, blockDuration, throttlerName);
        if (this.degraded) this.logger.log('rate limits count in Redis again');
        this.degraded = false;
        return record;
      } catch (error) {
        if (!this.degraded) this.logger.warn(`rate limits count in this process while Redis does not answer: ${(error as Error).message}`);
        this.degraded = true;
      }
    }
    return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
  }

  onApplicationShutdown(): void {
    this.redis?.onModuleDestroy();
    this.local.onApplicationShutdown();
  }
}

@Module({ providers: [SharedThrottlerStorage], exports: [SharedThrottlerStorage] })
export class SharedThrottlerStorageModule {}

// Environment for every e2e test file: real PostgreSQL and Redis on localhost, UTC.
process.env.TZ = 'UTC';
process.env.NODE_ENV = 'test';
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';
process.env.JWT_SECRET ??= 'test-secret-that-is-long-enough-for-hs256-signing';
process.env.ENCRYPTION_KEY ??= Buffer.alloc(32, 7).toString('base64');
process.env.PLATFORM_ADMIN_EMAIL ??= 'operator@filodiretto.test';
process.env.PLATFORM_ADMIN_PASSWORD ??= 'operator-password-1';
process.env.LOG_LEVEL ??= 'silent';

import 'reflect-metadata';
import { ConfigValidationError } from '@app/core';
import { startStandalone } from './standalone';

main().catch((error: unknown) => {
  console.error(error instanceof ConfigValidationError ? error.message : error);
  process.exit(1);
});

async function main(): Promise<void> {
  const { url, runtime, operatorPassword } = await startStandalone();
  const { config } = runtime;
  const lines = [
    '',
    `Filodiretto is running on ${url}`,
    `  API docs (Swagger):  ${url}/docs`,
    `  Health:              ${url}/health`,
    `  Mode:                ${config.mode === 'embedded' ? `embedded (data in ${config.dataDir})` : 'production (PostgreSQL)'}, queue ${config.usesRedis ? 'Bull on Redis' : 'in-process'}`,
    `  Operator login:      POST ${url}/v1/auth/login  { "email": "${config.platformAdmin.email}", "password": ${
      operatorPassword ? `"${operatorPassword}" }  (generated now, shown only once)` : config.platformAdmin.password ? '(PLATFORM_ADMIN_PASSWORD) }' : '(printed on the first start) }'
    }`,
    '',
  ];
  console.log(lines.join('\n'));
}

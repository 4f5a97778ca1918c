import 'reflect-metadata';
import type { PlatformAdminOutcome } from '@app/auth';
import { ConfigValidationError } from '@app/core';
import { startStandalone } from './standalone';

main().catch((error: unknown) => {
  console.error(error instanceof ConfigValidationError ? error.message : error);
  process.exit(1);
});

async function main(): Promise<void> {
  const { url, runtime, operatorPassword, operatorAccount } = await startStandalone();
  const { config } = runtime;
  const lines = [
    '',
    `Filodiretto is running on ${url}`,
    `  Console:             ${url}/console`,
    `  API docs (Swagger):  ${url}/docs`,
    `  Health:              ${url}/health`,
    `  Mode:                ${config.mode === 'embedded' ? `embedded (data in ${config.dataDir})` : 'production (PostgreSQL)'}, queue ${config.usesRedis ? 'Bull on Redis' : 'in-process'}`,
    `  Operator login:      POST ${url}/v1/auth/login  { "email": "${config.platformAdmin.email}", "password": ${operatorPasswordHint(operatorAccount, operatorPassword)}`,
    '',
  ];
  console.log(lines.join('\n'));
}

/** What the banner says of the operator's password: it is PLATFORM_ADMIN_PASSWORD only on the start that created the account. */
function operatorPasswordHint(account: PlatformAdminOutcome, generated: string | null): string {
  if (account === 'generated') return `"${generated}" }  (generated now, shown only once)`;
  if (account === 'created') return '(PLATFORM_ADMIN_PASSWORD) }';
  return '(the one the account was created with) }  (PLATFORM_ADMIN_PASSWORD applies only to the first start)';
}

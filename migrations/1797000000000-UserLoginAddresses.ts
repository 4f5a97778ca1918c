import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The addresses each account last logged in from (address → time of the login): a login from one
 * of them is not held by the account-wide limit on failed guesses, so that guesses from elsewhere
 * cannot lock the comune's own staff out (AuthThrottlerGuard).
 */
export class UserLoginAddresses1797000000000 implements MigrationInterface {
  name = 'UserLoginAddresses1797000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN login_addresses jsonb NOT NULL DEFAULT '{}'::jsonb`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users DROP COLUMN login_addresses`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each account's session generation, carried by its access tokens (`ver`): a password change
 * moves it on, so that every token issued before stops working at once, not when it expires.
 */
export class UserTokenVersion1797100000000 implements MigrationInterface {
  name = 'UserTokenVersion1797100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users DROP COLUMN token_version`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A comune's subscribers are listed newest first (the latest sign-ups on the first page): the
 * tenant's index in that order takes the place of the one by id, which only that list read.
 */
export class SubscribersNewestFirst1796900000000 implements MigrationInterface {
  name = 'SubscribersNewestFirst1796900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX subscribers_newest_idx ON subscribers (tenant_id, created_at DESC, id DESC)`);
    await db.query(`DROP INDEX subscribers_tenant_id_idx`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX subscribers_tenant_id_idx ON subscribers (tenant_id, id)`);
    await db.query(`DROP INDEX subscribers_newest_idx`);
  }
}

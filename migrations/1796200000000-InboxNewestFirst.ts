import { MigrationInterface, QueryRunner } from 'typeorm';

/** The inbox is read newest first, across a comune's channels or for one: indexes in that order. */
export class InboxNewestFirst1796200000000 implements MigrationInterface {
  name = 'InboxNewestFirst1796200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX inbound_messages_newest_idx ON inbound_messages (tenant_id, received_at DESC, id DESC)`);
    await db.query(`DROP INDEX inbound_messages_tenant_idx`);
    await db.query(`CREATE INDEX inbound_messages_tenant_idx ON inbound_messages (tenant_id, channel_id, received_at DESC, id DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX inbound_messages_tenant_idx`);
    await db.query(`CREATE INDEX inbound_messages_tenant_idx ON inbound_messages (tenant_id, channel_id, received_at)`);
    await db.query(`DROP INDEX inbound_messages_newest_idx`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a delivery remembers of Meta's 131047 ("more than 24 hours since the customer last
 * replied", at once or as a failed status after a 200):
 * - `window_closed_at`: when Meta said the window was closed. Until the citizen writes again the
 *   delivery is planned as outside the window (the channel's fallback template, or skipped
 *   outside_window), whatever the error of a later attempt (a 5xx of the template's send).
 * - `replaced_provider_message_id`: a free-form message Meta took and then reported failed reached
 *   nobody; the delivery forgets its wamid so that it can go out again as outside the window, and
 *   keeps it here so that that message's own late webhooks (which name the delivery in their
 *   callback data) are not taken for the new one's.
 * Neither is indexed: both are read only with the delivery they belong to.
 */
export class DeliveryWindowClosed1796600000000 implements MigrationInterface {
  name = 'DeliveryWindowClosed1796600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE deliveries ADD COLUMN window_closed_at timestamptz, ADD COLUMN replaced_provider_message_id varchar(255)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE deliveries DROP COLUMN IF EXISTS window_closed_at, DROP COLUMN IF EXISTS replaced_provider_message_id`);
  }
}

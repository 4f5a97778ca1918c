import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `withdrawn`: a signup that was never confirmed is called off (the number's owner answered the
 * opt-out keyword, or the comune unsubscribed it). It is not a departure: the subscriber series,
 * which counts `subscribed` and `unsubscribed`, never counted the person as joined.
 */
export class ConsentWithdrawn1796000000000 implements MigrationInterface {
  name = 'ConsentWithdrawn1796000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE consent_events DROP CONSTRAINT consent_events_action_check`);
    await db.query(`ALTER TABLE consent_events ADD CONSTRAINT consent_events_action_check CHECK (action IN ('requested','subscribed','unsubscribed','withdrawn','erased'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`UPDATE consent_events SET action = 'unsubscribed' WHERE action = 'withdrawn'`);
    await db.query(`ALTER TABLE consent_events DROP CONSTRAINT consent_events_action_check`);
    await db.query(`ALTER TABLE consent_events ADD CONSTRAINT consent_events_action_check CHECK (action IN ('requested','subscribed','unsubscribed','erased'))`);
  }
}

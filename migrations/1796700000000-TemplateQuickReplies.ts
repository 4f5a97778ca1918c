import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A template's quick-reply buttons, as the sync reads them: `[{ index, text }]`, `index` being the
 * button's position among all the template's buttons (what a send's button component names). A
 * template campaign with such buttons is a poll outside the 24-hour window too: each button is
 * sent with the campaign's answer payload, and its answers are counted per button (CONTRACT:
 * poll-results counts a template's quick-reply answers). Null when not known (heard of by webhook only).
 */
export class TemplateQuickReplies1796700000000 implements MigrationInterface {
  name = 'TemplateQuickReplies1796700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE message_templates ADD COLUMN quick_replies jsonb`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE message_templates DROP COLUMN IF EXISTS quick_replies`);
  }
}

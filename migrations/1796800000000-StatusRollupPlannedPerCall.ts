import { MigrationInterface, QueryRunner } from 'typeorm';

/** The rollup of topic followers when subscribers' statuses change (AddTopicFollowerRollup). */
const ROLLUP = `INSERT INTO topic_follower_counts AS c (tenant_id, topic_id, active_count)
        SELECT st.tenant_id, st.topic_id, sum(CASE WHEN n.status = 'active' THEN 1 ELSE -1 END)
          FROM new_subscribers n
          JOIN old_subscribers o ON o.id = n.id
          JOIN subscriber_topics st ON st.tenant_id = n.tenant_id AND st.subscriber_id = n.id
         WHERE (o.status = 'active') <> (n.status = 'active')
         GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (tenant_id, topic_id) DO UPDATE SET active_count = c.active_count + EXCLUDED.active_count`;

/**
 * The status rollup's statement is planned at each call, with its transition tables' real sizes.
 * As a static statement, PL/pgSQL kept the plan made for the first updates it saw (one row each):
 * a nested loop over the two transition tables, which have no index. Updating 5,000 subscribers
 * in one statement (a CSV re-import's batch) then compared 25 million pairs: 4.2 s per batch, 46 s
 * to re-import 50,000 rows. Planned per call it is a hash join.
 */
export class StatusRollupPlannedPerCall1796800000000 implements MigrationInterface {
  name = 'StatusRollupPlannedPerCall1796800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE OR REPLACE FUNCTION analytics_subscribers_status_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        EXECUTE $sql$${ROLLUP}$sql$;
        RETURN NULL;
      END
      $fn$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE OR REPLACE FUNCTION analytics_subscribers_status_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        ${ROLLUP};
        RETURN NULL;
      END
      $fn$`);
  }
}

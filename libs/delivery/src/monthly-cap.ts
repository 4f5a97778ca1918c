/**
 * The rows that count against each subscriber's monthly cap, one per message `(subscriber_id, w)`:
 * this month's campaign messages handed over (the month's part of deliveries_tenant_sent_idx alone)
 * or still queued, each w = 1, less those of emergency campaigns (exempt from the cap: w = -1, few,
 * read through their campaign). Erased subscribers' rows have no subscriber_id. `when` guards every
 * branch (a launch of an emergency reads none). Shared by the launch, which skips who reached the
 * cap, and the comune's usage figures, which say how many more campaigns fit.
 */
export const capMessagesOfMonth = ({ tenant, since, when }: { tenant: string; since: string; when: string }): string => `
               SELECT d.subscriber_id, 1 AS w FROM deliveries d
                WHERE ${when} AND d.tenant_id = ${tenant} AND d.sent_at >= ${since} AND d.kind = 'campaign'
               UNION ALL
               SELECT d.subscriber_id, 1 FROM deliveries d
                WHERE ${when} AND d.tenant_id = ${tenant} AND d.status = 'queued' AND d.sent_at IS NULL AND d.created_at >= ${since} AND d.kind = 'campaign'
               UNION ALL
               SELECT d.subscriber_id, -1 FROM campaigns e JOIN deliveries d ON d.tenant_id = e.tenant_id AND d.campaign_id = e.id
                WHERE ${when} AND e.tenant_id = ${tenant} AND e.priority = 'emergency' AND e.started_at IS NOT NULL AND (e.completed_at IS NULL OR e.completed_at >= ${since})
                  AND d.kind = 'campaign'
                  AND (d.sent_at >= ${since} OR (d.status = 'queued' AND d.sent_at IS NULL AND d.created_at >= ${since}))`;

import { fixtureJson } from '../../testing/src/fixtures';
import { webhookContacts } from './webhook-ingestion.service';

describe('webhookContacts', () => {
  it("names the citizens of Meta's payloads: senders, recipients of statuses, user preferences", () => {
    expect(webhookContacts(fixtureJson('webhook-text-inbound.json')).sort()).toEqual(expect.arrayContaining(['393478215604']));
    expect(webhookContacts(fixtureJson('webhook-status-sent.json')).sort()).toEqual(['393478215604', 'IT.20817365940218273645']);
    expect(webhookContacts(fixtureJson('webhook-text-inbound-bsuid-only.json'))).toEqual(['IT.15510293847561029384']);
    expect(webhookContacts(fixtureJson('webhook-user-preferences-stop.json')).sort()).toEqual(['393389914420', 'IT.17263549081726354908']);
  });

  it('keeps each contact once, ignores other fields and bounds a hostile payload', () => {
    const value = { statuses: Array.from({ length: 3 }, () => ({ recipient_id: '393471234567', id: 'wamid.x', status: 'sent' })) };
    expect(webhookContacts({ entry: [{ changes: [{ value }] }] })).toEqual(['393471234567']);
    expect(webhookContacts({ entry: [{ changes: [{ value: { statuses: Array.from({ length: 5000 }, (_, i) => ({ recipient_id: String(i) })) } }] }] })).toHaveLength(1000);
    expect(webhookContacts('not an object')).toEqual([]);
    expect(webhookContacts({ from: 42, wa_id: '' })).toEqual([]);
  });
});

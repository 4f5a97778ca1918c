import { readFileSync } from 'fs';
import { join } from 'path';
import { parseWebhookPayload } from './webhook-parser';

const fixture = (name: string): unknown => JSON.parse(readFileSync(join(__dirname, '../../../../shared/fixtures/whatsapp', name), 'utf8'));

describe('parseWebhookPayload', () => {
  it('reads an inbound keyword with sender, profile and time', () => {
    const [change] = parseWebhookPayload(fixture('webhook-text-inbound.json'));
    expect(change).toMatchObject({ field: 'messages', phoneNumberId: '118204937561023', wabaId: '104938275610492', statuses: [] });
    expect(change.messages).toEqual([
      expect.objectContaining({
        wamid: 'wamid.HBgMMzkzNDc4MjE1NjA0FQIAEhgUM0FGMjk5NjcxMzA3MzI4RURCNjAA',
        kind: 'text',
        text: 'ATTIVA ISCRIZIONE',
        fromWaId: '393478215604',
        fromUserId: 'IT.20817365940218273645',
        profileName: 'Giulia Bianchi',
        occurredAt: '2026-10-06T07:12:41.000Z',
      }),
    ]);
  });

  it('accepts a username-only sender without from or wa_id', () => {
    const [change] = parseWebhookPayload(fixture('webhook-text-inbound-bsuid-only.json'));
    expect(change.messages[0]).toMatchObject({ fromWaId: null, fromUserId: 'IT.15510293847561029384', profileName: 'Chiara', text: 'ATTIVA ISCRIZIONE' });
  });

  it('reads reactions, button replies and their context', () => {
    const reaction = parseWebhookPayload(fixture('webhook-reaction.json'))[0].messages[0];
    expect(reaction).toMatchObject({ kind: 'reaction', emoji: '\u{1F44D}', contextWamid: 'wamid.HBgMMzkzNDc4MjE1NjA0FQIAERgSM0ExOTlGNUY0MTQzRTEzRjdGAA==' });
    const button = parseWebhookPayload(fixture('webhook-interactive-button-reply.json'))[0].messages[0];
    expect(button).toMatchObject({ kind: 'button_reply', replyId: 'sondaggio_orario_avvisi:mattina', text: 'Mattina', contextWamid: 'wamid.HBgMMzkzNDc4MjE1NjA0FQIAERgSMjVGNDY0NUUxMDNEMjU4M0NGAA==' });
  });

  it('reads statuses with errors and callback data', () => {
    const failed = parseWebhookPayload(fixture('webhook-status-failed.json'))[0].statuses[0];
    expect(failed).toMatchObject({ status: 'failed', errorCode: 131026, recipientId: '393207744581', recipientUserId: null });
    const sent = parseWebhookPayload(fixture('webhook-status-sent.json'))[0].statuses[0];
    expect(sent).toMatchObject({ status: 'sent', callbackData: 'tenant=valdoria;campaign=cmp_2026_10_08_acqua;recipient=rcp_000418', errorCode: null });
  });

  it('splits a batched payload by change and phone number', () => {
    const changes = parseWebhookPayload(fixture('webhook-batched.json'));
    expect(changes.map((c) => [c.phoneNumberId, c.messages.length, c.statuses.length])).toEqual([
      ['118204937561023', 2, 0],
      ['118204937561023', 0, 3],
      ['112983746501928', 0, 2],
    ]);
    expect(changes[0].messages.map((m) => m.profileName)).toEqual(['Francesca Romano', 'Giovanni Ricci']);
    expect(changes[2].statuses[0]).toMatchObject({ status: 'failed', errorCode: 131047 });
  });

  it('reads user preferences and WABA-level changes', () => {
    const [prefs] = parseWebhookPayload(fixture('webhook-user-preferences-stop.json'));
    expect(prefs).toMatchObject({ field: 'user_preferences', userPreferences: [{ waId: '393389914420', value: 'stop', category: 'marketing_messages' }] });
    const [template] = parseWebhookPayload(fixture('webhook-template-status-approved.json'));
    expect(template).toMatchObject({ field: 'message_template_status_update', phoneNumberId: null, messages: [], statuses: [] });
    expect(template.wabaId).toBe('104938275610492');
    // "reason": "NONE" is no reason; the integer template id arrives as a string.
    expect(template.template).toEqual({ name: 'avviso_interruzione_idrica', language: 'it', templateId: '1803948572619204', event: 'APPROVED', category: 'UTILITY', reason: null });
  });

  it('reads a template pause with its reason and a category update', () => {
    const entry = (field: string, value: object) => ({ object: 'whatsapp_business_account', entry: [{ id: '104938275610492', time: 1791275711, changes: [{ field, value }] }] });
    const [paused] = parseWebhookPayload(
      entry('message_template_status_update', { event: 'PAUSED', message_template_id: 7, message_template_name: 'allerta_meteo', message_template_language: 'it', reason: 'Low quality' }),
    );
    expect(paused.template).toMatchObject({ name: 'allerta_meteo', event: 'PAUSED', category: null, reason: 'Low quality' });
    const [recategorised] = parseWebhookPayload(
      entry('template_category_update', { message_template_id: 7, message_template_name: 'allerta_meteo', message_template_language: 'it', previous_category: 'UTILITY', new_category: 'MARKETING' }),
    );
    expect(recategorised.template).toMatchObject({ event: null, category: 'MARKETING' });
    // Other fields never carry a template, and a template change without a name is dropped.
    expect(parseWebhookPayload(fixture('webhook-status-sent.json'))[0].template).toBeNull();
    expect(parseWebhookPayload(entry('message_template_status_update', { event: 'APPROVED', message_template_language: 'it' }))[0].template).toBeNull();
  });

  it('never throws on garbage', () => {
    for (const garbage of [null, 42, 'x', [], { entry: 'x' }, { entry: [{ changes: [{ value: { messages: [{}, null, { id: 'w', type: 'weird' }], statuses: [{ id: 'w', status: 'played' }] } }] }] }]) {
      expect(() => parseWebhookPayload(garbage)).not.toThrow();
    }
    const [change] = parseWebhookPayload({ entry: [{ changes: [{ value: { messages: [{ id: 'w', type: 'order' }], statuses: [{ id: 'w', status: 'played' }] } }] }] });
    expect(change.messages[0]).toMatchObject({ kind: 'other', type: 'order' });
    expect(change.statuses).toEqual([]);
  });
  it('keeps an item whose fields are out of bounds instead of failing the webhook: its own time, a cut name, no bogus ids', () => {
    const now = new Date('2026-12-02T10:00:00Z');
    const value = (fixture('webhook-text-inbound.json') as { entry: { changes: { value: { contacts: Record<string, unknown>[]; messages: Record<string, unknown>[] } }[] }[] }).entry[0].changes[0].value;
    const message = value.messages[0];
    const payload = (overrides: Record<string, unknown>, name = 'Giulia') => ({
      entry: [{ changes: [{ field: 'messages', value: { ...value, contacts: [{ ...value.contacts[0], profile: { name } }], messages: [{ ...message, ...overrides }] } }] }],
    });
    // Beyond any date, or days ahead of our clock (it would hold the 24-hour window open): the time of receipt.
    for (const timestamp of ['99999999999999', String(Math.floor(Date.now() / 1000) + 5 * 86_400)]) {
      expect(parseWebhookPayload(payload({ timestamp }), now)[0].messages[0].occurredAt).toBe(now.toISOString());
    }
    const long = parseWebhookPayload(payload({}, 'G'.repeat(500)), now)[0].messages[0];
    expect(long.profileName).toHaveLength(200);
    expect(parseWebhookPayload(payload({ from_user_id: 'IT.' + '9'.repeat(200) }), now)[0].messages[0].fromUserId).toBe('IT.20817365940218273645');
    expect(parseWebhookPayload(payload({ id: 'wamid.' + 'x'.repeat(300) }), now)[0].messages).toEqual([]);
  });
});

import { messagingLimit, planDelivery } from './outbound-plan';
import { canMoveTo, strongerEvent } from './delivery-status';

const now = new Date('2026-03-10T10:00:00Z');
const inWindow = new Date('2026-03-09T12:00:00Z');
const outWindow = new Date('2026-03-09T09:00:00Z');
const cloud = { sandbox: false, fallbackTemplate: null };
const withFallback = { sandbox: false, fallbackTemplate: { name: 'avviso', language: 'it' } };

describe('planDelivery (24-hour rule)', () => {
  it('sends text inside the window and skips it outside without a fallback', () => {
    expect(planDelivery('c', { type: 'text', text: 'Ciao' }, cloud, inWindow, now)).toEqual({ send: { type: 'text', text: 'Ciao' }, businessInitiated: false });
    expect(planDelivery('c', { type: 'text', text: 'Ciao' }, cloud, outWindow, now)).toEqual({ skip: 'outside_window' });
    expect(planDelivery('c', { type: 'text', text: 'Ciao' }, cloud, null, now)).toEqual({ skip: 'outside_window' });
  });

  it('carries text outside the window through the fallback template', () => {
    expect(planDelivery('c', { type: 'text', text: 'Allerta' }, withFallback, outWindow, now)).toEqual({
      send: { type: 'template', name: 'avviso', language: 'it', bodyParameters: ['Allerta'] },
      businessInitiated: true,
    });
    // Meta refuses line breaks, tabs and runs of spaces in a parameter: each run becomes one space.
    expect(planDelivery('c', { type: 'text', text: 'Allerta meteo\n\nScuole chiuse\tdomani      mattina ' }, withFallback, outWindow, now)).toMatchObject({
      send: { bodyParameters: ['Allerta meteo Scuole chiuse domani mattina'] },
    });
  });

  it('never sends polls or images outside the window, always templates', () => {
    const poll = { type: 'poll' as const, text: 'Ti piace?', options: ['Sì', 'No'] };
    expect(planDelivery('c', poll, withFallback, outWindow, now)).toEqual({ skip: 'outside_window' });
    expect(planDelivery('c', { type: 'image', url: 'https://x/y.jpg' }, withFallback, null, now)).toEqual({ skip: 'outside_window' });
    expect(planDelivery('c1', poll, cloud, inWindow, now)).toMatchObject({
      send: { type: 'buttons', buttons: [{ id: 'poll:c1:0', title: 'Sì' }, { id: 'poll:c1:1', title: 'No' }] },
    });
    expect(planDelivery('c', { type: 'template', template: { name: 't', language: 'it' } }, cloud, null, now)).toMatchObject({ businessInitiated: true });
  });

  it('has no window on sandbox channels', () => {
    expect(planDelivery('c', { type: 'image', url: 'https://x/y.jpg' }, { sandbox: true, fallbackTemplate: null }, null, now)).toMatchObject({ send: { type: 'image' } });
  });
});

describe('status ordering', () => {
  it('never moves backwards and keeps failed terminal', () => {
    expect(canMoveTo('sent', 'delivered')).toBe(true);
    expect(canMoveTo('read', 'delivered')).toBe(false);
    expect(canMoveTo('delivered', 'sent')).toBe(false);
    expect(canMoveTo('queued', 'read')).toBe(true);
    expect(canMoveTo('sent', 'failed')).toBe(true);
    expect(canMoveTo('delivered', 'failed')).toBe(false);
    expect(canMoveTo('failed', 'read')).toBe(false);
    expect(canMoveTo('skipped', 'sent')).toBe(false);
    expect(strongerEvent('failed', 'delivered')).toBe('delivered');
    expect(strongerEvent('sent', 'failed')).toBe('failed');
  });
});

describe('messagingLimit', () => {
  it('reads Meta tiers, unlimited by default', () => {
    expect(messagingLimit(null)).toBe(Infinity);
    expect(messagingLimit('TIER_250')).toBe(250);
    expect(messagingLimit('TIER_2K')).toBe(2000);
    expect(messagingLimit('TIER_100K')).toBe(100000);
    expect(messagingLimit('TIER_UNLIMITED')).toBe(Infinity);
    expect(messagingLimit('1000')).toBe(1000);
  });
});

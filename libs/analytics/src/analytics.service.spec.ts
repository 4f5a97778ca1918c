import { csvField, rate, toFunnel } from './analytics.service';
import type { CampaignCounters } from './analytics.queries';

describe('analytics arithmetic', () => {
  it('rounds rates to four decimals and has none without a denominator', () => {
    expect(rate(7, 9)).toBe(0.7778);
    expect(rate(0, 0)).toBeNull();
    expect(rate(3, 3)).toBe(1);
  });

  it('turns current-status counters into a cumulative funnel', () => {
    const campaign = { recipients: 12, queued: 0, sent: 2, delivered: 3, read: 4, failed: 1, skipped: 2 } as CampaignCounters;
    expect(toFunnel(campaign)).toMatchObject({ handed: 9, delivered: 7, read: 4, deliveryRate: 0.7778, readRate: 0.5714 });
  });

  it('writes CSV fields safely', () => {
    expect(csvField(null)).toBe('');
    expect(csvField('+393471234567')).toBe('+393471234567');
    expect(csvField(-5)).toBe('-5');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('+SUM(A1)')).toBe("'+SUM(A1)");
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField(new Date('2025-01-14T10:00:00Z'))).toBe('2025-01-14T10:00:00.000Z');
  });
});

import { instantOfLocal, quietHoursEnd, startOfMonth, zonedInstant } from './tenant-time';

const rome = { timezone: 'Europe/Rome', start: '21:00', end: '08:00' };

describe('tenant time', () => {
  it('finds local instants across DST', () => {
    expect(zonedInstant('Europe/Rome', 2026, 1, 15, 8, 0).toISOString()).toBe('2026-01-15T07:00:00.000Z');
    expect(zonedInstant('Europe/Rome', 2026, 7, 15, 8, 0).toISOString()).toBe('2026-07-15T06:00:00.000Z');
  });

  it('says when wrapping quiet hours end', () => {
    // 22:30 in Rome (winter) → ends at 08:00 next morning
    expect(quietHoursEnd(new Date('2026-01-15T21:30:00Z'), rome)?.toISOString()).toBe('2026-01-16T07:00:00.000Z');
    // 02:00 in Rome → ends at 08:00 the same day
    expect(quietHoursEnd(new Date('2026-01-15T01:00:00Z'), rome)?.toISOString()).toBe('2026-01-15T07:00:00.000Z');
    // 12:00 in Rome → not quiet
    expect(quietHoursEnd(new Date('2026-01-15T11:00:00Z'), rome)).toBeNull();
    // exactly 08:00 → not quiet; exactly 21:00 → quiet
    expect(quietHoursEnd(new Date('2026-01-15T07:00:00Z'), rome)).toBeNull();
    expect(quietHoursEnd(new Date('2026-01-15T20:00:00Z'), rome)).not.toBeNull();
  });

  it('handles non-wrapping quiet hours and none', () => {
    const lunch = { timezone: 'Europe/Rome', start: '13:00', end: '15:00' };
    expect(quietHoursEnd(new Date('2026-07-15T12:00:00Z'), lunch)?.toISOString()).toBe('2026-07-15T13:00:00.000Z');
    expect(quietHoursEnd(new Date('2026-07-15T14:00:00Z'), lunch)).toBeNull();
    expect(quietHoursEnd(new Date('2026-07-15T12:00:00Z'), { ...lunch, end: '13:00' })).toBeNull();
  });

  it('starts the month in the tenant zone', () => {
    // 23:30 UTC on 31 Jan is already 1 Feb in Rome
    expect(startOfMonth(new Date('2026-01-31T23:30:00Z'), 'Europe/Rome').toISOString()).toBe('2026-01-31T23:00:00.000Z');
    expect(startOfMonth(new Date('2026-01-31T22:30:00Z'), 'Europe/Rome').toISOString()).toBe('2025-12-31T23:00:00.000Z');
  });
});

describe('instantOfLocal', () => {
  it('reads a time without an offset as the wall clock of the zone, in winter and in summer', () => {
    expect(instantOfLocal('2026-12-03T08:00', 'Europe/Rome')?.toISOString()).toBe('2026-12-03T07:00:00.000Z');
    expect(instantOfLocal('2026-07-03T08:00:30', 'Europe/Rome')?.toISOString()).toBe('2026-07-03T06:00:30.000Z');
    expect(instantOfLocal('2026-07-03T08:00:30.250', 'Europe/Rome')?.toISOString()).toBe('2026-07-03T06:00:30.250Z');
  });

  it('takes a time with an offset as the instant it names, whatever the zone', () => {
    expect(instantOfLocal('2026-12-03T08:00:00Z', 'Europe/Rome')?.toISOString()).toBe('2026-12-03T08:00:00.000Z');
    expect(instantOfLocal('2026-12-03T08:00:00+02:00', 'Europe/Rome')?.toISOString()).toBe('2026-12-03T06:00:00.000Z');
    expect(instantOfLocal('2026-12-03T08:00:00+0100', 'Europe/Rome')?.toISOString()).toBe('2026-12-03T07:00:00.000Z');
  });

  it('moves a time inside the spring-forward gap to after it', () => {
    // 29 March 2026, 02:30 does not exist in Rome (02:00 -> 03:00).
    expect(instantOfLocal('2026-03-29T02:30', 'Europe/Rome')?.toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });

  it('takes the first of a time shown twice when clocks go back', () => {
    // 25 October 2026, 02:30 happens at 00:30Z (summer time) and again at 01:30Z.
    expect(instantOfLocal('2026-10-25T02:30', 'Europe/Rome')?.toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  it.each(['2026-12-03', 'domani', '2026-13-01T08:00', '2026-11-31T08:00', '2026-12-03T25:00', '2026-12-03T08:00+1'])('refuses %s', (text) => {
    expect(instantOfLocal(text, 'Europe/Rome')).toBeNull();
  });
});

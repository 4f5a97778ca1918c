import { normalizePhone, waIdToE164 } from './phone';

describe('normalizePhone', () => {
  it.each([
    ['347 123 4567', '+393471234567'],
    ['3471234567', '+393471234567'],
    ['+39 347 123 4567', '+393471234567'],
    ['+393471234567', '+393471234567'],
    ['0039 347 1234567', '+393471234567'],
    ['0039-347-123-4567', '+393471234567'],
    ['(+39) 347.123.4567', '+393471234567'],
    ['0587 123450', '+390587123450'],
    ['+33 6 12 34 56 78', '+33612345678'],
  ])('%s → %s', (input, expected) => {
    expect(normalizePhone(input)).toBe(expected);
  });

  it.each(['', 'abc', '123', '347 12', '+39 347 123 4567 890 12', '++393471234567', '3471234567x'])('rejects %j', (input) => {
    expect(normalizePhone(input)).toBeNull();
  });

  it('turns a wa_id into E.164', () => {
    expect(waIdToE164('393478215604')).toBe('+393478215604');
    expect(waIdToE164(null)).toBeNull();
    expect(waIdToE164('IT.123')).toBeNull();
  });
});

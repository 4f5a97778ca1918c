import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * A phone number in E.164 (`+393471234567`) from common Italian forms (`347 123 4567`,
 * `+39 347…`, `0039…`); null when it is not a valid number.
 */
export function normalizePhone(input: string, defaultRegion: 'IT' = 'IT'): string | null {
  if (typeof input !== 'string') return null;
  let value = input.trim().replace(/[\s().\-/]/g, '');
  if (!/^\+?\d{6,17}$/.test(value)) return null;
  if (value.startsWith('00')) value = `+${value.slice(2)}`;
  const parsed = parsePhoneNumberFromString(value, defaultRegion);
  if (!parsed || !parsed.isValid()) return null;
  return parsed.number;
}

/** Meta's wa_id (digits, no '+') → E.164; null when unusable. */
export function waIdToE164(waId: string | null | undefined): string | null {
  if (!waId || !/^\d{6,17}$/.test(waId)) return null;
  return `+${waId}`;
}

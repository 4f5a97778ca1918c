import { createHmac, timingSafeEqual } from 'crypto';

/** Checks `X-Hub-Signature-256: sha256=<hex>` against the exact raw bytes of the body. */
export function isValidSignature(rawBody: Buffer | undefined, header: string | string[] | undefined, appSecret: string): boolean {
  if (!rawBody || typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function signBody(rawBody: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

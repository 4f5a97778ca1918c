import { readFileSync } from 'fs';
import { join } from 'path';
import { signBody } from '@app/whatsapp';

/** shared/fixtures/whatsapp beside the repository. */
export const FIXTURES_DIR = join(__dirname, '../../../../shared/fixtures/whatsapp');

/** A fixture's exact bytes (as Meta would POST them). */
export const fixtureBytes = (name: string): Buffer => readFileSync(join(FIXTURES_DIR, name));

export const fixtureJson = <T = Record<string, unknown>>(name: string): T => JSON.parse(fixtureBytes(name).toString('utf8')) as T;

/** Bytes and the X-Hub-Signature-256 header for a webhook body. */
export function signedWebhook(body: Buffer | string | object, appSecret: string): { bytes: Buffer; signature: string } {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { bytes, signature: signBody(bytes, appSecret) };
}

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

/**
 * A `messages` webhook body as Meta sends it (whatsapp-cloud-api.md §6.4), for one phone number:
 * `value` carries `messages`, `statuses`, `contacts`...
 */
export function messagesWebhook(phoneNumberId: string, value: Record<string, unknown>, options: { wabaId?: string; displayPhoneNumber?: string } = {}) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: options.wabaId ?? 'waba',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: options.displayPhoneNumber ?? '390587123450', phone_number_id: phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

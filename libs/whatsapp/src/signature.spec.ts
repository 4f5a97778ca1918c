import { readFileSync } from 'fs';
import { join } from 'path';
import { isValidSignature, signBody } from './signature';

const fixture = readFileSync(join(__dirname, '../../../../shared/fixtures/whatsapp/webhook-reaction.json'));

describe('webhook signature', () => {
  it('accepts the HMAC of the exact bytes, escaped emoji included', () => {
    expect(isValidSignature(fixture, signBody(fixture, 'app-secret'), 'app-secret')).toBe(true);
  });

  it('refuses a body re-serialised by JSON.stringify, another secret, or a malformed header', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(fixture.toString())));
    expect(isValidSignature(reserialised, signBody(fixture, 'app-secret'), 'app-secret')).toBe(false);
    expect(isValidSignature(fixture, signBody(fixture, 'other'), 'app-secret')).toBe(false);
    expect(isValidSignature(fixture, 'sha1=abc', 'app-secret')).toBe(false);
    expect(isValidSignature(fixture, undefined, 'app-secret')).toBe(false);
    expect(isValidSignature(undefined, signBody(fixture, 'app-secret'), 'app-secret')).toBe(false);
  });
});

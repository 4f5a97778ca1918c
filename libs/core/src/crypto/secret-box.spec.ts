import { randomBytes } from 'crypto';
import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips a secret and never stores it in clear', () => {
    const sealed = box.seal('EAAG-token-123');
    expect(sealed).not.toContain('EAAG');
    expect(box.open(sealed)).toBe('EAAG-token-123');
  });

  it('refuses a tampered ciphertext', () => {
    const sealed = box.seal('secret');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('other').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
  });

  it('refuses to open with another key', () => {
    const sealed = box.seal('secret');
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
  });
});

describe('SecretBox key rotation', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('opens values sealed with the previous key and seals with the current one', () => {
    const sealedOld = new SecretBox(oldKey).seal('EAAG-old');
    const rotating = new SecretBox(newKey, { previousKeys: [oldKey] });
    expect(rotating.open(sealedOld)).toBe('EAAG-old');
    expect(rotating.isCurrent(sealedOld)).toBe(false);
    const resealed = rotating.reseal(sealedOld);
    expect(rotating.isCurrent(resealed)).toBe(true);
    // Once re-sealed, the previous key is no longer needed.
    expect(new SecretBox(newKey).open(resealed)).toBe('EAAG-old');
    expect(() => new SecretBox(oldKey).open(resealed)).toThrow();
    expect(rotating.reseal(resealed)).toBe(resealed);
  });

  it('keeps keyed hashes stable across a rotation when the digest key is kept', () => {
    const before = new SecretBox(oldKey).digest('contact:+393471234567');
    const after = new SecretBox(newKey, { previousKeys: [oldKey], digestKey: oldKey }).digest('contact:+393471234567');
    expect(after).toBe(before);
    expect(new SecretBox(newKey).digest('contact:+393471234567')).not.toBe(before);
  });

  it('still refuses a value sealed with an unknown key', () => {
    const sealed = new SecretBox(randomBytes(32)).seal('x');
    expect(() => new SecretBox(newKey, { previousKeys: [oldKey] }).open(sealed)).toThrow();
  });
});

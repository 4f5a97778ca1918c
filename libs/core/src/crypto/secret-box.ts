import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'crypto';

const VERSION = 'v1';

export interface SecretBoxOptions {
  /** Keys secrets may still be sealed with (key rotation): opened, never used to seal. */
  previousKeys?: Buffer[];
  /** Key of `digest` (defaults to the current key). Keyed hashes cannot be re-keyed, so it outlives rotations. */
  digestKey?: Buffer;
}

/**
 * AES-256-GCM for secrets at rest (channel tokens). Output: `v1.<iv>.<tag>.<ciphertext>`, base64url.
 * Seals with the current key; opens with the current key or any previous one (GCM's tag tells a
 * wrong key), so that the key can be rotated while sealed values are re-sealed.
 */
export class SecretBox {
  private readonly previousKeys: Buffer[];
  private readonly digestKey: Buffer;

  constructor(
    private readonly key: Buffer,
    options: SecretBoxOptions = {},
  ) {
    for (const k of [key, ...(options.previousKeys ?? []), ...(options.digestKey ? [options.digestKey] : [])]) {
      if (k.length !== 32) throw new Error('SecretBox needs 32-byte keys');
    }
    this.previousKeys = options.previousKeys ?? [];
    this.digestKey = options.digestKey ?? key;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    let failure: unknown;
    for (const key of [this.key, ...this.previousKeys]) {
      try {
        return openWith(key, sealed);
      } catch (error) {
        failure ??= error;
      }
    }
    throw failure;
  }

  /** True when the value is sealed with the current key (nothing to re-seal). */
  isCurrent(sealed: string): boolean {
    try {
      openWith(this.key, sealed);
      return true;
    } catch {
      return false;
    }
  }

  /** Opens with any known key and seals with the current one; the same value when already current. */
  reseal(sealed: string): string {
    return this.isCurrent(sealed) ? sealed : this.seal(this.open(sealed));
  }

  /** A keyed hash, for looking up or suppressing a value without storing it. */
  digest(value: string): string {
    return createHmac('sha256', this.digestKey).update(value).digest('hex');
  }
}

function openWith(key: Buffer, sealed: string): string {
  const [version, iv, tag, ciphertext] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new Error('Unrecognised sealed secret');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

export const sha256Hex = (value: string | Buffer): string => createHash('sha256').update(value).digest('hex');

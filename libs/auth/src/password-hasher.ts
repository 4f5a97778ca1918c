import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';

/** Argon2id password hashing (OWASP's recommended parameters). */
@Injectable()
export class PasswordHasher {
  private static readonly options = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
  private dummyHash: Promise<string> | null = null;

  hash(password: string): Promise<string> {
    return hash(password, PasswordHasher.options);
  }

  async verify(passwordHash: string | null, password: string): Promise<boolean> {
    // An unknown account still costs one verification, so timing does not reveal which emails exist.
    const target = passwordHash ?? (await (this.dummyHash ??= this.hash('not-a-real-password')));
    const matches = await verify(target, password).catch(() => false);
    return passwordHash !== null && matches;
  }
}

import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { AppConfig, Role } from '@app/core';
import { PasswordHasher } from './password-hasher';
import { UsersRepository } from './users.repository';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { User } from './user.entity';

/** How this start found the operator's account. */
export type PlatformAdminOutcome = 'generated' | 'created' | 'existing';

/**
 * Creates the platform operator on first start; a generated password is printed once.
 * PLATFORM_ADMIN_PASSWORD is the password of the account it creates: on later starts the account
 * keeps its password, and a variable that no longer matches it is said so in the log.
 */
@Injectable()
export class PlatformAdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('PlatformAdmin');
  /** Filled on the start that created the operator with a generated password. */
  generatedPassword: string | null = null;
  /** generated: created now with generatedPassword; created: now, with PLATFORM_ADMIN_PASSWORD; existing: before this start */
  outcome: PlatformAdminOutcome = 'existing';

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    @InjectRepository(User) private readonly userRows: Repository<User>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { email, password } = this.config.platformAdmin;
    const existing = await this.users.findByEmail(email);
    if (existing) {
      if (password && !(await this.hasher.verify(existing.passwordHash, password))) {
        this.logger.warn(`PLATFORM_ADMIN_PASSWORD is not the password of ${email}: it applies only to the start that creates the account, which keeps the password it was created with`);
      }
      return;
    }
    const chosen = password ?? randomBytes(12).toString('base64url');
    try {
      await this.userRows.insert({ tenantId: null, email: email.toLowerCase(), passwordHash: await this.hasher.hash(chosen), role: Role.PlatformAdmin });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') return; // another replica created it first
      throw error;
    }
    this.outcome = password ? 'created' : 'generated';
    if (!password) {
      this.generatedPassword = chosen;
      this.logger.warn(`Platform operator created: ${email} / ${chosen} (shown only now; set PLATFORM_ADMIN_PASSWORD to choose it)`);
    } else {
      this.logger.log(`Platform operator created: ${email}`);
    }
  }
}

import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { AppConfig, Role } from '@app/core';
import { PasswordHasher } from './password-hasher';
import { UsersRepository } from './users.repository';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { User } from './user.entity';

/** Creates the platform operator on first start; a generated password is printed once. */
@Injectable()
export class PlatformAdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('PlatformAdmin');
  /** Filled on the start that created the operator with a generated password. */
  generatedPassword: string | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    @InjectRepository(User) private readonly userRows: Repository<User>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { email, password } = this.config.platformAdmin;
    if (await this.users.findByEmail(email)) return;
    const chosen = password ?? randomBytes(12).toString('base64url');
    try {
      await this.userRows.insert({ tenantId: null, email: email.toLowerCase(), passwordHash: await this.hasher.hash(chosen), role: Role.PlatformAdmin });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') return; // another replica created it first
      throw error;
    }
    if (!password) {
      this.generatedPassword = chosen;
      this.logger.warn(`Platform operator created: ${email} / ${chosen} (shown only now; set PLATFORM_ADMIN_PASSWORD to choose it)`);
    } else {
      this.logger.log(`Platform operator created: ${email}`);
    }
  }
}

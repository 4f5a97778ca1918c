import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'crypto';
import { IsNull, Repository } from 'typeorm';
import { AuditAction, AuditLogService } from '@app/audit';
import { AppConfig, asTenantId, BadRequestError, Clock, Principal, Role, sha256Hex, UnauthorizedError } from '@app/core';
import { PasswordHasher } from './password-hasher';
import { RefreshToken } from './refresh-token.entity';
import { User } from './user.entity';
import { UsersRepository } from './users.repository';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/** Addresses an account's successful logins are remembered from (the most recent ones). */
const KNOWN_LOGIN_ADDRESSES = 10;
/** How long a login address stays known after its last successful login. */
const KNOWN_LOGIN_ADDRESS_DAYS = 30;

/** The audience of queue-board tickets; access tokens have none. */
export const BOARD_AUDIENCE = 'queue-board';

export interface AccessTokenClaims {
  sub: string;
  tid: string | null;
  role: Role;
  email: string;
  /** the account's session generation when issued (absent from tokens issued before it existed: 0) */
  ver?: number;
}

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersRepository,
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly audit: AuditLogService,
  ) {}

  /** Checks the password; a success from `address` makes it one of the account's known addresses. */
  async login(email: string, password: string, address?: string): Promise<TokenPair> {
    const user = await this.users.findByEmail(email);
    const valid = await this.hasher.verify(user?.passwordHash ?? null, password);
    if (!user || !valid) throw new UnauthorizedError('Wrong email or password');
    if (address) await this.users.noteLoginAddress(user.id, address, this.clock.now(), KNOWN_LOGIN_ADDRESSES);
    return this.issue(user);
  }

  /** Whether the account logged in from `address` within KNOWN_LOGIN_ADDRESS_DAYS. */
  async isKnownLoginAddress(email: string, address: string): Promise<boolean> {
    const last = (await this.users.findByEmail(email))?.loginAddresses?.[address];
    return last !== undefined && this.clock.now().getTime() - Date.parse(last) < KNOWN_LOGIN_ADDRESS_DAYS * 86_400_000;
  }

  /** Rotates the refresh token: the old one stops working; reusing a spent one revokes them all. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const stored = await this.refreshTokens.findOneBy({ tokenHash: sha256Hex(refreshToken) });
    if (!stored) throw new UnauthorizedError('Invalid refresh token');
    if (stored.revokedAt) {
      await this.refreshTokens.update({ userId: stored.userId, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
      throw new UnauthorizedError('Refresh token already used');
    }
    if (stored.expiresAt <= this.clock.now()) throw new UnauthorizedError('Refresh token expired');
    const revoked = await this.refreshTokens.update({ id: stored.id, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
    if (!revoked.affected) throw new UnauthorizedError('Refresh token already used');
    const user = await this.users.findAnyById(stored.userId);
    if (!user) throw new UnauthorizedError('Invalid refresh token');
    return this.issue(user);
  }

  /**
   * Ends the session of a refresh token: it cannot be exchanged any more. Unknown or spent tokens
   * end nothing, and say nothing. The token is forgotten rather than marked spent, so that a client
   * trying it once more is told it is invalid, not taken for a thief replaying a used one (which
   * would end every session of the account).
   */
  async logout(refreshToken: string): Promise<void> {
    await this.refreshTokens.delete({ tokenHash: sha256Hex(refreshToken), revokedAt: IsNull() });
  }

  /**
   * The member's new password, given the current one: every session of the account ends (its
   * refresh tokens revoked, its access tokens refused from now on), and a new pair is answered for
   * the session that changed it.
   */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<TokenPair> {
    const user = await this.users.findAnyById(principal.id);
    if (!user) throw new UnauthorizedError('This account no longer exists');
    if (!(await this.hasher.verify(user.passwordHash, currentPassword))) throw new BadRequestError('currentPassword is not the password of this account', 'wrong_password');
    if (newPassword === currentPassword) throw new BadRequestError('newPassword must differ from currentPassword');
    const passwordHash = await this.hasher.hash(newPassword);
    const changed = await this.refreshTokens.manager.transaction(async (manager) => {
      const rows = (await manager.query(`UPDATE users SET password_hash = $2, token_version = token_version + 1, updated_at = now() WHERE id = $1 RETURNING token_version`, [
        user.id,
        passwordHash,
      ])) as [{ token_version: number }[], number];
      // Forgotten, not marked spent: another device trying its old one must not end the new session too (see logout).
      await manager.getRepository(RefreshToken).delete({ userId: user.id });
      await this.audit.record({ tenantId: user.tenantId, actor: principal, action: AuditAction.PasswordChanged, target: { type: 'user', id: user.id } }, manager);
      return rows[0][0].token_version;
    });
    return this.issue({ ...user, passwordHash, tokenVersion: changed });
  }

  /** Turns verified JWT claims into the request's principal, as the token states it. */
  principalFromClaims(claims: AccessTokenClaims): Principal {
    return { kind: 'user', id: claims.sub, tenantId: claims.tid ? asTenantId(claims.tid) : null, role: claims.role, email: claims.email, tokenVersion: claims.ver ?? 0 };
  }

  /**
   * The member behind a verified token as they are now: a role changed since the token was issued
   * applies at once, and a deleted member's token stops working (one primary-key read per request,
   * instead of a token that outlives its member for its whole TTL).
   */
  async currentMember(principal: Principal): Promise<Principal> {
    const user = await this.users.findAnyById(principal.id);
    if (!user || user.tenantId !== (principal.tenantId ?? null)) throw new UnauthorizedError('This account no longer exists');
    if (principal.tokenVersion !== undefined && principal.tokenVersion !== user.tokenVersion) {
      throw new UnauthorizedError('This session has ended (the password was changed since): log in again');
    }
    return { kind: 'user', id: user.id, tenantId: user.tenantId ? asTenantId(user.tenantId) : null, role: user.role, email: user.email, tokenVersion: user.tokenVersion };
  }

  /**
   * A ticket for the queue board (a browser page that cannot send a bearer header): the operator's
   * identity for as long as an access token, with an audience of its own, so that it is never taken
   * as an access token, nor an access token as a ticket.
   */
  issueBoardTicket(principal: Principal): Promise<string> {
    return this.jwt.signAsync({ sub: principal.id, ver: principal.tokenVersion ?? 0 }, { audience: BOARD_AUDIENCE, expiresIn: this.config.jwt.accessTtlSeconds });
  }

  /** The platform operator a board ticket stands for, as they are now; null for anything else. */
  async boardOperator(ticket: string): Promise<Principal | null> {
    try {
      const claims = await this.jwt.verifyAsync<{ sub: string; ver?: number }>(ticket, { audience: BOARD_AUDIENCE, algorithms: ['HS256'] });
      const principal = await this.currentMember({ kind: 'user', id: claims.sub, tenantId: null, role: Role.PlatformAdmin, email: '', tokenVersion: claims.ver ?? 0 });
      return principal.role === Role.PlatformAdmin ? principal : null;
    } catch {
      return null;
    }
  }

  private async issue(user: User): Promise<TokenPair> {
    const claims: AccessTokenClaims = { sub: user.id, tid: user.tenantId, role: user.role, email: user.email, ver: user.tokenVersion };
    const accessToken = await this.jwt.signAsync(claims, { expiresIn: this.config.jwt.accessTtlSeconds });
    const refreshToken = `rt_${randomBytes(32).toString('base64url')}`;
    await this.refreshTokens.insert({
      userId: user.id,
      tokenHash: sha256Hex(refreshToken),
      expiresAt: new Date(this.clock.now().getTime() + this.config.jwt.refreshTtlSeconds * 1000),
    });
    return { accessToken, refreshToken, expiresIn: this.config.jwt.accessTtlSeconds };
  }
}

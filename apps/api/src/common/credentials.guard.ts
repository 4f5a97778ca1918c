import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { ApiKeysService, AuthService } from '@app/auth';
import { ForbiddenError, IS_PUBLIC, Principal, REQUIRED_ROLES, Role, UnauthorizedError, USERS_ONLY, WRITERS } from '@app/core';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Default deny: every route needs a JWT (`Authorization: Bearer`) or a tenant API key
 * (`X-API-Key`) unless it says `@Public()`. Then roles: `@Roles(...)` when given; otherwise reads
 * are open to every member and writes need an editor or a tenant admin.
 */
@Injectable()
export class CredentialsGuard extends AuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly auth: AuthService,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;

    const request = context.switchToHttp().getRequest<Request & { user?: Principal }>();
    const apiKey = request.headers['x-api-key'];
    // Two credentials could name two comuni: which one a write lands in must not be a guess.
    if (apiKey !== undefined && request.headers.authorization !== undefined) {
      throw new UnauthorizedError('Send one credential: Authorization (a bearer token) or X-API-Key, not both');
    }
    if (typeof apiKey === 'string' && apiKey.length > 0) {
      const principal = await this.apiKeys.authenticate(apiKey);
      if (!principal) throw new UnauthorizedError('Invalid or revoked API key');
      request.user = principal;
    } else {
      await (super.canActivate(context) as Promise<boolean>);
      // The token is genuine; the member is taken as they are now. Here rather than in the passport
      // strategy, which passport keeps once per process (the last application composed).
      request.user = await this.auth.currentMember(request.user!);
    }

    const principal = request.user!;
    if (principal.kind === 'api_key' && this.reflector.getAllAndOverride<boolean>(USERS_ONLY, targets)) {
      throw new ForbiddenError('API keys cannot manage users or API keys');
    }
    const required =
      this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets) ?? (READ_METHODS.has(request.method) ? undefined : WRITERS);
    if (required && !required.includes(principal.role)) {
      throw new ForbiddenError(`This action needs one of the roles: ${required.join(', ')}`);
    }
    return true;
  }

  override handleRequest<TUser = Principal>(error: unknown, user: TUser | false): TUser {
    if (error || !user) throw new UnauthorizedError('Missing, invalid or expired access token');
    return user;
  }
}

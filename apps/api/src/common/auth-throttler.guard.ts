import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerRequest,
  ThrottlerStorage,
} from '@nestjs/throttler';
import { AuthService } from '@app/auth';

const loginEmail = (request: Record<string, unknown>): string => {
  const body = request.body as { email?: unknown } | undefined;
  return typeof body?.email === 'string' ? body.email.toLowerCase() : '';
};

/**
 * Rate limit keyed by client address and, for login, the account tried. The account-wide limit
 * (guesses at one account spread over many addresses) does not hold a login from an address the
 * account logged in from lately: guesses from elsewhere cannot lock the comune's staff out (say,
 * on the night of a flood alert), and an address becomes known only by a login that succeeded.
 * Those addresses still count against the per-address limit.
 */
@Injectable()
export class AuthThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly auth: AuthService,
  ) {
    super(options, storage, reflector);
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return `${String(request.ip)}|${loginEmail(request)}`;
  }

  protected override async handleRequest(requestProps: ThrottlerRequest): Promise<boolean> {
    if (requestProps.throttler.name === 'account') {
      const request = requestProps.context.switchToHttp().getRequest<Record<string, unknown>>();
      const email = loginEmail(request);
      if (email && (await this.auth.isKnownLoginAddress(email, String(request.ip)))) return true;
    }
    return super.handleRequest(requestProps);
  }
}

/** The account a login tries, whatever address it comes from (the `account` limit's tracker). */
export const loginAccount = (request: Record<string, unknown>): string => `account|${loginEmail(request)}`;

/**
 * The named limits every throttled route counts against. `default` is set per route; `account` is
 * effectively unlimited except where a route sets it (login: guesses at one account spread over
 * many addresses, which the per-address limit cannot see).
 */
export const THROTTLERS = [
  { name: 'default', ttl: 60_000, limit: 600 },
  { name: 'account', ttl: 3_600_000, limit: 1_000_000_000 },
];

/** The 429's message: what happened and when to try again (the same figure as its Retry-After header). */
export const tooManyRequestsMessage = (_context: ExecutionContext, detail: ThrottlerLimitDetail): string => {
  const seconds = Math.max(1, Math.ceil(detail.timeToBlockExpire));
  return `Too many requests: try again in ${seconds} second${seconds === 1 ? '' : 's'}`;
};

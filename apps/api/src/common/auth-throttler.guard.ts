import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';

/** Rate limit keyed by client address and, for login, the account tried. */
@Injectable()
export class AuthThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const body = request.body as { email?: unknown } | undefined;
    const email = typeof body?.email === 'string' ? body.email.toLowerCase() : '';
    return `${String(request.ip)}|${email}`;
  }
}

/** The account a login tries, whatever address it comes from (the `account` limit's tracker). */
export const loginAccount = (request: Record<string, unknown>): string => {
  const body = request.body as { email?: unknown } | undefined;
  return `account|${typeof body?.email === 'string' ? body.email.toLowerCase() : ''}`;
};

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

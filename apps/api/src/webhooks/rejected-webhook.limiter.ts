import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { catchError, from, Observable, switchMap, throwError } from 'rxjs';
import { DomainError, ErrorKind, TooManyRequestsError } from '@app/core';

/** Refused webhook calls (bad signature, unknown channel) an address may make per minute. */
const REFUSALS_PER_MINUTE = 60;

/**
 * Rate-limits the webhook routes by their failures only: Meta's signed traffic is never slowed,
 * however heavy a campaign's status flow, while an address that keeps sending unsigned or
 * mis-signed bodies is answered 429 for the rest of the minute.
 */
@Injectable()
export class RejectedWebhookLimiter implements NestInterceptor {
  private readonly refusals = new RateLimiterMemory({ points: REFUSALS_PER_MINUTE, duration: 60 });

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const address = String(context.switchToHttp().getRequest<Request>().ip);
    return from(this.refusals.get(address)).pipe(
      switchMap((state) => {
        if (state && state.consumedPoints >= REFUSALS_PER_MINUTE) {
          return throwError(() => new TooManyRequestsError('Too many refused webhook calls from this address; try again later'));
        }
        return next.handle().pipe(
          catchError((error: unknown) => {
            const refused = error instanceof DomainError && [ErrorKind.Unauthorized, ErrorKind.NotFound, ErrorKind.Forbidden, ErrorKind.BadRequest].includes(error.kind);
            if (!refused) return throwError(() => error);
            return from(this.refusals.penalty(address, 1)).pipe(switchMap(() => throwError(() => error)));
          }),
        );
      }),
    );
  }
}

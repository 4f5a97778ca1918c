import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bull';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import type { Queue } from 'bull';
import type { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import { AuthService } from '@app/auth';
import { AppConfig, Principal, Role, UnauthorizedError } from '@app/core';
import { ALL_QUEUES } from '@app/queue';

export const QUEUE_BOARD_PATH = '/admin/queues';

/** The cookie that carries a board ticket (POST /v1/admin/queue-board/session sets it). */
export const BOARD_COOKIE = 'filodiretto_board';

const deny = (response: Response, statusCode: 401 | 403, message: string) =>
  response.status(statusCode).json({ statusCode, error: statusCode === 401 ? 'Unauthorized' : 'Forbidden', message });

const cookieValue = (request: Request, name: string): string | null => {
  const match = new RegExp(`(?:^|;\\s*)${name}=([^;]+)`).exec(request.headers.cookie ?? '');
  // A ticket is a JWT (base64url and dots): taken as it is, nothing to decode.
  return match ? match[1] : null;
};

/**
 * Only the platform operator: a platform_admin access token as `Authorization: Bearer` (scripts),
 * or, in a browser, the board ticket cookie the console obtains for the operator
 * (HttpOnly, SameSite=Strict, scoped to the board's path).
 */
function operatorOnly(auth: AuthService) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const ticket = request.headers.authorization ? null : cookieValue(request, BOARD_COOKIE);
    if (ticket) {
      auth.boardOperator(ticket).then(
        (principal) => (principal ? next() : deny(response, 401, 'The queue board session expired: open the board again from the console')),
        next,
      );
      return;
    }
    passport.authenticate('jwt', { session: false }, (error: unknown, claimed: Principal | false) => {
      if (error || !claimed) return deny(response, 401, 'Missing, invalid or expired access token');
      // The member as they are now, as on every API route.
      auth.currentMember(claimed).then((principal) => {
        if (principal.role !== Role.PlatformAdmin) return deny(response, 403, 'The queue board is for the platform operator');
        next();
      }, (failure: unknown) => (failure instanceof UnauthorizedError ? deny(response, 401, failure.message) : next(failure)));
    })(request, response, next);
  };
}

/** Bull Board at /admin/queues when the queues are Bull's (Redis); absent with the in-process transport. */
@Injectable()
export class QueueBoard implements OnModuleInit {
  private readonly logger = new Logger('QueueBoard');

  constructor(
    private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: AuthService,
  ) {}

  onModuleInit(): void {
    const http = this.adapterHost?.httpAdapter;
    if (!this.config.usesRedis || !http || http.getType() !== 'express') return;
    const queues = ALL_QUEUES.map((name) => this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }));
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(QUEUE_BOARD_PATH);
    createBullBoard({ queues: queues.map((queue) => new BullAdapter(queue)), serverAdapter, options: { uiConfig: { boardTitle: 'Filodiretto' } } });
    http.getInstance().use(QUEUE_BOARD_PATH, operatorOnly(this.auth), serverAdapter.getRouter());
    this.logger.log(`Bull Board mounted at ${QUEUE_BOARD_PATH} (the operator only: bearer token or the console's board session)`);
  }
}

import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bull';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import type { Queue } from 'bull';
import type { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import { AppConfig, Principal, Role } from '@app/core';
import { ALL_QUEUES } from '@app/queue';

export const QUEUE_BOARD_PATH = '/admin/queues';

const deny = (response: Response, statusCode: 401 | 403, message: string) =>
  response.status(statusCode).json({ statusCode, error: statusCode === 401 ? 'Unauthorized' : 'Forbidden', message });

/**
 * Only the platform operator: a platform_admin access token as `Authorization: Bearer` on every
 * request (the same JWT the console's login gives). A browser does not add that header by itself,
 * so opening the board in a browser needs a header-setting proxy or extension.
 */
function operatorOnly(request: Request, response: Response, next: NextFunction): void {
  passport.authenticate('jwt', { session: false }, (error: unknown, principal: Principal | false) => {
    if (error || !principal) return deny(response, 401, 'Missing, invalid or expired access token');
    if (principal.role !== Role.PlatformAdmin) return deny(response, 403, 'The queue board is for the platform operator');
    next();
  })(request, response, next);
}

/** Bull Board at /admin/queues when the queues are Bull's (Redis); absent with the in-process transport. */
@Injectable()
export class QueueBoard implements OnModuleInit {
  private readonly logger = new Logger('QueueBoard');

  constructor(
    private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const http = this.adapterHost?.httpAdapter;
    if (!this.config.usesRedis || !http || http.getType() !== 'express') return;
    const queues = ALL_QUEUES.map((name) => this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }));
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(QUEUE_BOARD_PATH);
    createBullBoard({ queues: queues.map((queue) => new BullAdapter(queue)), serverAdapter, options: { uiConfig: { boardTitle: 'Filodiretto' } } });
    http.getInstance().use(QUEUE_BOARD_PATH, operatorOnly, serverAdapter.getRouter());
    this.logger.log(`Bull Board mounted at ${QUEUE_BOARD_PATH} (platform_admin bearer token required)`);
  }
}

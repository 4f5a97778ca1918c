import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuthService } from '@app/auth';
import { AppConfig, CurrentPrincipal, DomainError, ErrorKind, Principal, Role, Roles } from '@app/core';
import { ApiAuthenticated } from '../common/api-responses';
import { BOARD_COOKIE, QUEUE_BOARD_PATH } from './queue-board';

@ApiTags('operator')
@Controller('v1/admin/queue-board')
@Roles(Role.PlatformAdmin)
@ApiAuthenticated()
export class QueueBoardController {
  constructor(
    private readonly auth: AuthService,
    private readonly config: AppConfig,
  ) {}

  @Post('session')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Opens the queue board (Bull Board, /admin/queues) in this browser',
    description: `Sets an HttpOnly, SameSite=Strict cookie scoped to ${QUEUE_BOARD_PATH}, valid as long as an access token: a browser cannot send the bearer header the board otherwise needs.`,
  })
  @ApiNoContentResponse({ description: 'The cookie is set' })
  @ApiNotFoundResponse({ description: 'No queue board: the in-process queue (no REDIS_URL)' })
  async session(@CurrentPrincipal() principal: Principal, @Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<void> {
    if (!this.config.usesRedis) {
      throw new DomainError(ErrorKind.NotFound, 'There is no queue board here: it shows the Redis queues, and this deployment runs the in-process queue (set REDIS_URL)', 'queue_board_unavailable');
    }
    const ticket = await this.auth.issueBoardTicket(principal);
    response.cookie(BOARD_COOKIE, ticket, {
      httpOnly: true,
      sameSite: 'strict',
      secure: request.secure,
      path: QUEUE_BOARD_PATH,
      maxAge: this.config.jwt.accessTtlSeconds * 1000,
    });
  }
}

import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentTenant, TenantId } from '@app/core';
import { mapPage } from '@app/database';
import { InboundMessagesRepository } from '@app/subscribers';
import { ApiAuthenticated } from '../common/api-responses';
import { InboxListDto, InboxQueryDto, toInboundMessageResponse } from './subscriber.dto';

@ApiTags('inbox')
@Controller('v1/inbox')
@ApiAuthenticated()
export class InboxController {
  constructor(private readonly inbound: InboundMessagesRepository) {}

  @Get()
  @ApiOperation({ summary: 'What citizens wrote to the comune: questions, keywords, poll answers, reactions; newest first' })
  @ApiOkResponse({ type: InboxListDto })
  async list(@CurrentTenant() tenantId: TenantId, @Query() query: InboxQueryDto): Promise<InboxListDto> {
    return mapPage(await this.inbound.inbox(tenantId, query), toInboundMessageResponse);
  }
}

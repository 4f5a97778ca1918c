import { Body, Controller, Get, Header, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { SandboxService } from '@app/channels';
import { CurrentTenant, Public, TenantId } from '@app/core';
import { ApiAuthenticated, ApiNotFound } from '../common/api-responses';
import { IdParam } from '../common/id-param';
import { SandboxContactListDto, SandboxConversationDto, SimulatedInboundAcceptedDto, SimulatedInboundDto, toSandboxMessageResponse } from './sandbox.dto';
import { renderSandboxPage } from './sandbox-page';

/** The simulated phone of sandbox channels: try the whole flow without a Meta account. */
@ApiTags('sandbox')
@Controller()
export class SandboxController {
  constructor(private readonly sandbox: SandboxService) {}

  @Post('v1/sandbox/:channelId/inbound')
  @HttpCode(202)
  @ApiAuthenticated()
  @ApiOperation({ summary: 'The simulated phone writes to a sandbox channel (handled exactly like a real webhook)' })
  @ApiAcceptedResponse({ type: SimulatedInboundAcceptedDto })
  @ApiNotFound('Channel')
  async inbound(@CurrentTenant() tenantId: TenantId, @Param('channelId', IdParam('Channel')) channelId: string, @Body() body: SimulatedInboundDto): Promise<SimulatedInboundAcceptedDto> {
    return this.sandbox.simulateInbound(tenantId, channelId, body);
  }

  @Get('v1/sandbox/:channelId/conversations')
  @ApiAuthenticated()
  @ApiOperation({ summary: 'The simulated phones that talked to a sandbox channel' })
  @ApiOkResponse({ type: SandboxContactListDto })
  @ApiNotFound('Channel')
  async contacts(@CurrentTenant() tenantId: TenantId, @Param('channelId', IdParam('Channel')) channelId: string): Promise<SandboxContactListDto> {
    const rows = await this.sandbox.contacts(tenantId, channelId);
    return { data: rows.map((r) => ({ contact: r.contact, messages: r.messages, lastAt: new Date(r.lastAt).toISOString() })) };
  }

  @Get('v1/sandbox/:channelId/conversations/:contact')
  @ApiAuthenticated()
  @ApiOperation({ summary: 'What the simulated phone sent and what the comune sent it, oldest first' })
  @ApiOkResponse({ type: SandboxConversationDto })
  @ApiNotFound('Channel')
  async conversation(
    @CurrentTenant() tenantId: TenantId,
    @Param('channelId', IdParam('Channel')) channelId: string,
    @Param('contact') contact: string,
  ): Promise<SandboxConversationDto> {
    const messages = await this.sandbox.conversation(tenantId, channelId, contact);
    return { contact: SandboxServiceContact(contact), data: messages.map(toSandboxMessageResponse) };
  }

  @Get('sandbox/:channelId')
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @ApiOperation({ summary: 'The simulated phone (HTML page; it asks for the comune API key)' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The page', schema: { type: 'string' } })
  page(@Param('channelId', IdParam('Channel')) channelId: string): string {
    return renderSandboxPage(channelId);
  }
}

const SandboxServiceContact = (contact: string): string => SandboxService.normalizeContact(contact) ?? contact;

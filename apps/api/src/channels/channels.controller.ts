import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { ChannelsService, MessageTemplatesService } from '@app/channels';
import { CurrentPrincipal, CurrentTenant, Principal, Role, Roles, TenantId } from '@app/core';
import { mapPage, PageQueryDto } from '@app/database';
import { ChannelResumption } from '@app/delivery';
import { ApiAuthenticated, ApiNotFound, ErrorResponseDto } from '../common/api-responses';
import { IdParam } from '../common/id-param';
import { MessageTemplateListDto, toTemplateListResponse } from './template.dto';
import { ChannelDto, ChannelListDto, CreateChannelDto, splitChannelBody, toChannelResponse, UpdateChannelDto } from './channel.dto';

@ApiTags('channels')
@Controller('v1/channels')
@ApiAuthenticated()
export class ChannelsController {
  constructor(
    private readonly channels: ChannelsService,
    private readonly resumption: ChannelResumption,
    private readonly templates: MessageTemplatesService,
  ) {}

  @Post()
  @Roles(Role.TenantAdmin)
  @ApiOperation({ summary: "Connect a WhatsApp number (or a sandbox) to the comune; secrets are stored encrypted and never returned" })
  @ApiCreatedResponse({ type: ChannelDto })
  @ApiConflictResponse({ description: 'phoneNumberId already connected', type: ErrorResponseDto })
  async create(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() principal: Principal, @Body() body: CreateChannelDto): Promise<ChannelDto> {
    const { fields, settings } = splitChannelBody(body);
    return toChannelResponse(await this.channels.create(tenantId, { ...fields, settings }, principal));
  }

  @Get()
  @ApiOperation({ summary: "The comune's channels" })
  @ApiOkResponse({ type: ChannelListDto })
  async list(@CurrentTenant() tenantId: TenantId, @Query() page: PageQueryDto): Promise<ChannelListDto> {
    return mapPage(await this.channels.list(tenantId, page), toChannelResponse);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One channel' })
  @ApiOkResponse({ type: ChannelDto })
  @ApiNotFound('Channel')
  async get(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Channel')) id: string): Promise<ChannelDto> {
    return toChannelResponse(await this.channels.getById(tenantId, id));
  }

  @Patch(':id')
  @Roles(Role.TenantAdmin)
  @ApiOperation({ summary: 'Change a channel: credentials, rate, keywords, texts, office hours, privacy link; status active resumes its queued deliveries at once' })
  @ApiOkResponse({ type: ChannelDto })
  @ApiNotFound('Channel')
  @ApiConflictResponse({ description: 'phoneNumberId already connected', type: ErrorResponseDto })
  async update(
    @CurrentTenant() tenantId: TenantId,
    @CurrentPrincipal() principal: Principal,
    @Param('id', IdParam('Channel')) id: string,
    @Body() body: UpdateChannelDto,
  ): Promise<ChannelDto> {
    const { fields, settings } = splitChannelBody(body);
    // Back to active from paused: what it held back goes now, not at the reconciler's next pass. A
    // channel active already has its batches queued: enqueueing them again would only add jobs.
    const resuming = fields.status === 'active' && (await this.channels.getById(tenantId, id)).status === 'paused';
    const channel = await this.channels.update(tenantId, id, { ...fields, settings }, principal);
    if (resuming) await this.resumption.resume(tenantId, id);
    return toChannelResponse(channel);
  }

  @Get(':id/templates')
  @ApiOperation({
    summary: "The message templates of the channel's WhatsApp Business Account, as WhatsApp last reported them",
    description: 'Kept current by WhatsApp’s template webhooks and a sync every few hours. A campaign whose template is not APPROVED is refused at send (409).',
  })
  @ApiOkResponse({ type: MessageTemplateListDto })
  @ApiNotFound('Channel')
  async listTemplates(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Channel')) id: string, @Query() page: PageQueryDto): Promise<MessageTemplateListDto> {
    return toTemplateListResponse(await this.templates.list(tenantId, id, page));
  }

  @Post(':id/templates/sync')
  @HttpCode(200)
  @Roles(Role.TenantAdmin)
  @ApiOperation({ summary: 'Read the templates from WhatsApp now (after creating or editing one in WhatsApp Manager); answers the first page of the list' })
  @ApiOkResponse({ type: MessageTemplateListDto })
  @ApiNotFound('Channel')
  @ApiConflictResponse({ description: 'A sandbox channel, or WhatsApp refused the listing (wabaId, accessToken)', type: ErrorResponseDto })
  @ApiServiceUnavailableResponse({ description: 'WhatsApp could not be reached, or failed on its side (5xx): try again later', type: ErrorResponseDto })
  async syncTemplates(
    @CurrentTenant() tenantId: TenantId,
    @CurrentPrincipal() principal: Principal,
    @Param('id', IdParam('Channel')) id: string,
    @Query() page: PageQueryDto,
  ): Promise<MessageTemplateListDto> {
    return toTemplateListResponse(await this.templates.sync(tenantId, id, principal, page));
  }

  @Delete(':id')
  @Roles(Role.TenantAdmin)
  @HttpCode(204)
  @ApiOperation({
    summary: 'Disconnect a channel (its subscribers and campaigns go with it)',
    description:
      'Its subscribers are erased (their consent history records that the active ones left and that all were erased; the subscriber series counts them as left), its campaigns and messages deleted; the audit log says how many. 409 while a campaign of it is sending or scheduled. To stop it for a while instead, PATCH its status to paused.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFound('Channel')
  async delete(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() principal: Principal, @Param('id', IdParam('Channel')) id: string): Promise<void> {
    await this.channels.delete(tenantId, id, principal);
  }
}

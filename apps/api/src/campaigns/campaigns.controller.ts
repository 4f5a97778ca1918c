import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditAction, AuditLogService } from '@app/audit';
import { CampaignsService } from '@app/campaigns';
import { CurrentPrincipal, CurrentTenant, Principal, Role, Roles, TenantId } from '@app/core';
import { mapPage } from '@app/database';
import { ApiAuthenticated, ApiNotFound, ErrorResponseDto } from '../common/api-responses';
import { IdParam } from '../common/id-param';
import { refuseNulls } from '../common/is-omittable';
import {
  CampaignDetailDto,
  CampaignDto,
  CampaignListDto,
  CampaignListQueryDto,
  CreateCampaignDto,
  UpdateCampaignDto,
  DeliveryListDto,
  DeliveryQueryDto,
  PollResultsDto,
  ReactionsDto,
  SendCampaignResponseDto,
  toCampaignMessage,
  toCampaignResponse,
  toDeliveryResponse,
} from './campaign.dto';

@ApiTags('campaigns')
@Controller('v1/campaigns')
@ApiAuthenticated()
export class CampaignsController {
  constructor(
    private readonly campaigns: CampaignsService,
    private readonly audit: AuditLogService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Draft a campaign (editors and tenant admins)' })
  @ApiCreatedResponse({ type: CampaignDto })
  @ApiNotFound('Channel')
  async create(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() principal: Principal, @Body() body: CreateCampaignDto): Promise<CampaignDto> {
    const campaign = await this.campaigns.create(
      tenantId,
      {
        channelId: body.channelId,
        title: body.title,
        message: toCampaignMessage(body.message),
        topics: body.topics,
        priority: body.priority,
        scheduledAt: body.scheduledAt ?? null,
      },
      principal.id,
    );
    return toCampaignResponse(campaign);
  }

  @Get()
  @ApiOperation({ summary: "The comune's campaigns, newest first" })
  @ApiOkResponse({ type: CampaignListDto })
  async list(@CurrentTenant() tenantId: TenantId, @Query() query: CampaignListQueryDto): Promise<CampaignListDto> {
    return mapPage(await this.campaigns.list(tenantId, query, query.status), toCampaignResponse);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A campaign with its delivery stats' })
  @ApiOkResponse({ type: CampaignDetailDto })
  @ApiNotFound('Campaign')
  async get(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Campaign')) id: string): Promise<CampaignDetailDto> {
    const campaign = await this.campaigns.get(tenantId, id);
    return { ...toCampaignResponse(campaign), heldBack: await this.campaigns.heldBack(tenantId, campaign) };
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a draft (editors and tenant admins); a campaign already sent or scheduled answers 409' })
  @ApiOkResponse({ type: CampaignDto })
  @ApiConflictResponse({ description: 'The campaign is no longer a draft', type: ErrorResponseDto })
  @ApiNotFound('Campaign')
  async update(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Campaign')) id: string, @Body() body: UpdateCampaignDto): Promise<CampaignDto> {
    // scheduledAt: null unschedules the draft; the others cannot be emptied.
    refuseNulls(body, ['channelId', 'title', 'message', 'topics', 'priority']);
    const campaign = await this.campaigns.update(tenantId, id, {
      channelId: body.channelId,
      title: body.title,
      message: body.message ? toCampaignMessage(body.message) : undefined,
      topics: body.topics,
      priority: body.priority,
      scheduledAt: body.scheduledAt === undefined ? undefined : (body.scheduledAt ?? null),
    });
    return toCampaignResponse(campaign);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a draft (editors and tenant admins); a campaign that went out answers 409' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiConflictResponse({ description: 'The campaign is no longer a draft', type: ErrorResponseDto })
  @ApiNotFound('Campaign')
  async remove(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Campaign')) id: string): Promise<void> {
    await this.campaigns.removeDraft(tenantId, id);
  }

  @Post(':id/send')
  @HttpCode(202)
  @Roles(Role.TenantAdmin)
  @ApiOperation({
    summary: 'Send a draft campaign (tenant admins and API keys)',
    description:
      'Starts at once, or schedules it for its scheduledAt or, for normal campaigns, the end of quiet hours. 403 when the comune may not send; 409 when it was sent already or its template is not APPROVED on WhatsApp (or not among the synced templates). `warnings` says what will hold it back: a paused channel, quiet hours, a fallback template WhatsApp will refuse.',
  })
  @ApiAcceptedResponse({ type: SendCampaignResponseDto })
  @ApiConflictResponse({ description: 'The campaign was already sent', type: ErrorResponseDto })
  @ApiNotFound('Campaign')
  async send(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() principal: Principal, @Param('id', IdParam('Campaign')) id: string): Promise<SendCampaignResponseDto> {
    const { campaign, warnings } = await this.campaigns.send(tenantId, id, principal.id);
    await this.audit.record({ tenantId, actor: principal, action: AuditAction.CampaignSent, target: { type: 'campaign', id }, details: { status: campaign.status, priority: campaign.priority } });
    // A campaign whose audience was entirely skipped completes at once; it was still sent.
    const status = campaign.status === 'scheduled' ? 'scheduled' : 'sending';
    return { id: campaign.id, status, scheduledAt: campaign.status === 'scheduled' ? (campaign.scheduledAt?.toISOString() ?? null) : null, warnings };
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles(Role.TenantAdmin)
  @ApiOperation({ summary: 'Cancel a campaign: deliveries not yet handed to WhatsApp are not sent' })
  @ApiOkResponse({ type: CampaignDto })
  @ApiConflictResponse({ description: 'The campaign is already completed, cancelled or failed', type: ErrorResponseDto })
  @ApiNotFound('Campaign')
  async cancel(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() principal: Principal, @Param('id', IdParam('Campaign')) id: string): Promise<CampaignDto> {
    const campaign = await this.campaigns.cancel(tenantId, id);
    await this.audit.record({ tenantId, actor: principal, action: AuditAction.CampaignCancelled, target: { type: 'campaign', id } });
    return toCampaignResponse(campaign);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "A campaign's deliveries, one per recipient" })
  @ApiOkResponse({ type: DeliveryListDto })
  @ApiNotFound('Campaign')
  async deliveries(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Campaign')) id: string, @Query() query: DeliveryQueryDto): Promise<DeliveryListDto> {
    return mapPage(await this.campaigns.deliveriesOf(tenantId, id, query, query.status), toDeliveryResponse);
  }

  @Get(':id/poll-results')
  @ApiOperation({ summary: "A poll's votes per option (each citizen the poll went to once, last answer wins)" })
  @ApiOkResponse({ type: PollResultsDto })
  @ApiNotFound('Campaign')
  async pollResults(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Campaign')) id: string): Promise<PollResultsDto> {
    return this.campaigns.pollResults(tenantId, id);
  }

  @Get(':id/reactions')
  @ApiOperation({ summary: "Emoji reactions to a campaign's messages (each citizen's latest)" })
  @ApiOkResponse({ type: ReactionsDto })
  @ApiNotFound('Campaign')
  async reactions(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Campaign')) id: string): Promise<ReactionsDto> {
    return { data: await this.campaigns.reactions(tenantId, id) };
  }
}

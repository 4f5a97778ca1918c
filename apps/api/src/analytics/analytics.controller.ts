import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AnalyticsService } from '@app/analytics';
import { CurrentTenant, TenantId } from '@app/core';
import { ApiAuthenticated, ApiNotFound } from '../common/api-responses';
import { IdParam } from '../common/id-param';
import {
  CampaignFunnelListDto,
  CampaignFunnelQueryDto,
  CampaignReportDto,
  MonthlyUsageDto,
  OverviewDto,
  SourceBreakdownListDto,
  SubscriberSeriesDto,
  SubscriberSeriesQueryDto,
  TopicBreakdownListDto,
  toCampaignFunnelResponse,
  toCampaignReportResponse,
  toMonthlyUsageResponse,
  toOverviewResponse,
  toSeriesResponse,
} from './analytics.dto';

@ApiTags('analytics')
@Controller('v1/analytics')
@ApiAuthenticated()
export class AnalyticsController {
  constructor(private readonly analytics: AnalyticsService) {}

  @Get('overview')
  @ApiOperation({ summary: 'Subscribers, adoption rate, messages that reached people, campaigns' })
  @ApiOkResponse({ type: OverviewDto })
  async overview(@CurrentTenant() tenantId: TenantId): Promise<OverviewDto> {
    return toOverviewResponse(await this.analytics.overview(tenantId));
  }

  @Get('subscribers')
  @ApiOperation({ summary: 'Subscribers over time: joined, left and active per day (week, month) in the comune timezone' })
  @ApiOkResponse({ type: SubscriberSeriesDto })
  async subscribers(@CurrentTenant() tenantId: TenantId, @Query() query: SubscriberSeriesQueryDto): Promise<SubscriberSeriesDto> {
    return toSeriesResponse(await this.analytics.subscriberSeries(tenantId, query));
  }

  @Get('subscribers/by-source')
  @ApiOperation({ summary: 'Subscribers by how they consented (keyword, web form, import, API)' })
  @ApiOkResponse({ type: SourceBreakdownListDto })
  async bySource(@CurrentTenant() tenantId: TenantId): Promise<SourceBreakdownListDto> {
    return { data: await this.analytics.subscribersBySource(tenantId) };
  }

  @Get('subscribers/by-topic')
  @ApiOperation({ summary: 'Active subscribers following each topic' })
  @ApiOkResponse({ type: TopicBreakdownListDto })
  async byTopic(@CurrentTenant() tenantId: TenantId): Promise<TopicBreakdownListDto> {
    return { data: await this.analytics.subscribersByTopic(tenantId) };
  }

  @Get('usage')
  @ApiOperation({ summary: 'This month against the monthly message cap per subscriber' })
  @ApiOkResponse({ type: MonthlyUsageDto })
  async usage(@CurrentTenant() tenantId: TenantId): Promise<MonthlyUsageDto> {
    return toMonthlyUsageResponse(await this.analytics.monthlyUsage(tenantId));
  }

  @Get('campaigns')
  @ApiOperation({ summary: 'Campaigns with their funnels, newest first' })
  @ApiOkResponse({ type: CampaignFunnelListDto })
  async campaigns(@CurrentTenant() tenantId: TenantId, @Query() query: CampaignFunnelQueryDto): Promise<CampaignFunnelListDto> {
    const page = await this.analytics.campaignFunnels(tenantId, query.limit ?? 50, query.cursor);
    return { data: page.data.map(toCampaignFunnelResponse), nextCursor: page.nextCursor };
  }

  @Get('campaigns/:id')
  @ApiOperation({ summary: "A campaign's funnel with skip reasons, provider errors, time to delivered, poll results and reactions" })
  @ApiOkResponse({ type: CampaignReportDto })
  @ApiNotFound('Campaign')
  async campaign(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Campaign')) id: string): Promise<CampaignReportDto> {
    return toCampaignReportResponse(await this.analytics.campaignReport(tenantId, id));
  }

  @Get('campaigns/:id/export.csv')
  @ApiOperation({ summary: "A campaign's deliveries as CSV (one line per recipient)" })
  @ApiProduces('text/csv')
  @ApiOkResponse({ description: 'CSV with header subscriber_id,recipient,status,reason,error_code,provider_message_id,sent_at,delivered_at,read_at,failed_at', schema: { type: 'string' } })
  @ApiNotFound('Campaign')
  async exportCsv(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Campaign')) id: string, @Res() response: Response): Promise<void> {
    const campaign = await this.analytics.requireCampaign(tenantId, id);
    // Set here, not with @Header: an error before this point must still answer JSON.
    response.setHeader('Content-Type', 'text/csv; charset=utf-8');
    response.setHeader('Content-Disposition', `attachment; filename="campagna-${campaign.id}.csv"`);
    for await (const chunk of this.analytics.campaignCsv(tenantId, campaign.id)) {
      if (!response.write(chunk)) await new Promise((resolve) => response.once('drain', resolve));
    }
    response.end();
  }
}

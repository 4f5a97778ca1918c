import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { CampaignFunnel, CampaignReport, Interval, MonthlyUsage, Overview, SubscriberSeriesPoint } from '@app/analytics';
import { PageQueryDto } from '@app/database';
// One schema each in the OpenAPI document: the campaign's own poll results and reactions.
import { PollResultsDto, ReactionCountDto } from '../campaigns/campaign.dto';

export class SubscriberCountsDto {
  @ApiProperty({ example: 1500 }) active: number;
  @ApiProperty({ example: 42 }) unsubscribed: number;
  @ApiProperty({ example: 3 }) pending: number;
}

export class MessageTotalsDto {
  @ApiProperty({ description: 'Deliveries handed to WhatsApp (status sent, delivered or read): cumulative', example: 9000 }) sent: number;
  @ApiProperty({ description: 'Deliveries delivered to the phone (delivered or read)', example: 8700 }) delivered: number;
  @ApiProperty({ description: 'Deliveries read', example: 6100 }) read: number;
  @ApiProperty({ description: 'Deliveries that failed (provider error)', example: 12 }) failed: number;
}

export class CampaignTotalsDto {
  @ApiProperty() total: number;
  @ApiProperty() completed: number;
}

export class OverviewDto {
  @ApiProperty({ type: SubscriberCountsDto }) subscribers: SubscriberCountsDto;
  @ApiProperty({ nullable: true, type: Number, description: 'active / population (0..1); null when the population is unknown', example: 0.03 })
  adoptionRate: number | null;
  @ApiProperty({ type: MessageTotalsDto }) messages: MessageTotalsDto;
  @ApiProperty({ type: CampaignTotalsDto }) campaigns: CampaignTotalsDto;
}

export const toOverviewResponse = (overview: Overview): OverviewDto => ({
  subscribers: overview.subscribers,
  adoptionRate: overview.adoptionRate,
  messages: overview.messages,
  campaigns: overview.campaigns,
});

export class SubscriberSeriesQueryDto {
  @ApiPropertyOptional({ description: 'First day (YYYY-MM-DD, in the comune timezone, or an ISO 8601 instant: its day there); default 29 days before `to`', example: '2025-01-01' })
  @IsOptional() @IsString() @MaxLength(40)
  from?: string;

  @ApiPropertyOptional({ description: 'Last day (YYYY-MM-DD or an instant, as `from`), inclusive; default today. The range spans at most 366 days; the series ends today', example: '2025-01-31' })
  @IsOptional() @IsString() @MaxLength(40)
  to?: string;

  @ApiPropertyOptional({ enum: ['day', 'week', 'month'], default: 'day' })
  @IsOptional() @IsIn(['day', 'week', 'month'])
  interval?: Interval;
}

export class SubscriberSeriesPointDto {
  @ApiProperty({ example: '2025-01-15', description: 'The day (or first day of the week/month) in the comune timezone' }) date: string;
  @ApiProperty({ description: 'Subscriptions confirmed in the period' }) joined: number;
  @ApiProperty({ description: 'Unsubscriptions in the period' }) left: number;
  @ApiProperty({ description: 'Active subscribers at the end of the period' }) active: number;
}

export class SubscriberSeriesDto {
  @ApiProperty({ type: [SubscriberSeriesPointDto] }) data: SubscriberSeriesPointDto[];
}

export const toSeriesResponse = (points: SubscriberSeriesPoint[]): SubscriberSeriesDto => ({ data: points.map((p) => ({ ...p })) });

export class SourceBreakdownDto {
  @ApiProperty({ enum: ['keyword', 'web_form', 'import', 'api'] }) source: string;
  @ApiProperty() active: number;
  @ApiProperty() unsubscribed: number;
  @ApiProperty() pending: number;
}

export class SourceBreakdownListDto {
  @ApiProperty({ type: [SourceBreakdownDto] }) data: SourceBreakdownDto[];
}

export class TopicBreakdownDto {
  @ApiProperty({ example: 'meteo' }) key: string;
  @ApiProperty({ example: 'Allerte meteo' }) name: string;
  @ApiProperty({ description: 'Active subscribers following the topic' }) active: number;
}

export class TopicBreakdownListDto {
  @ApiProperty({ type: [TopicBreakdownDto] }) data: TopicBreakdownDto[];
}

export class CampaignFunnelDto {
  @ApiProperty() id: string;
  @ApiProperty() title: string;
  @ApiProperty({ enum: ['draft', 'scheduled', 'sending', 'completed', 'cancelled', 'failed'] }) status: string;
  @ApiProperty({ enum: ['normal', 'emergency'] }) priority: string;
  @ApiProperty() channelId: string;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) completedAt: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() recipients: number;
  @ApiProperty({ description: 'Waiting to be handed to WhatsApp' }) queued: number;
  @ApiProperty({ description: 'Handed to WhatsApp (sent, delivered or read): cumulative' }) sent: number;
  @ApiProperty({ description: 'Delivered or read' }) delivered: number;
  @ApiProperty() read: number;
  @ApiProperty() failed: number;
  @ApiProperty() skipped: number;
  @ApiProperty({ nullable: true, type: Number, description: 'delivered / sent (0..1)' }) deliveryRate: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'read / delivered (0..1)' }) readRate: number | null;
}

export class CampaignFunnelListDto {
  @ApiProperty({ type: [CampaignFunnelDto] }) data: CampaignFunnelDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export const toCampaignFunnelResponse = (funnel: CampaignFunnel): CampaignFunnelDto => ({
  id: funnel.campaign.id,
  title: funnel.campaign.title,
  status: funnel.campaign.status,
  priority: funnel.campaign.priority,
  channelId: funnel.campaign.channelId,
  startedAt: funnel.campaign.startedAt?.toISOString() ?? null,
  completedAt: funnel.campaign.completedAt?.toISOString() ?? null,
  createdAt: funnel.campaign.createdAt.toISOString(),
  recipients: funnel.campaign.recipients,
  queued: funnel.campaign.queued,
  sent: funnel.handed,
  delivered: funnel.delivered,
  read: funnel.read,
  failed: funnel.campaign.failed,
  skipped: funnel.campaign.skipped,
  deliveryRate: funnel.deliveryRate,
  readRate: funnel.readRate,
});

export class ReasonCountDto {
  @ApiProperty({ example: 'outside_window' }) reason: string;
  @ApiProperty() count: number;
}

export class ErrorCodeCountDto {
  @ApiProperty({ nullable: true, type: Number, example: 131026, description: 'Provider error code (null when none was given)' }) code: number | null;
  @ApiProperty() count: number;
}

export class PercentilesDto {
  @ApiProperty({ description: 'Seconds from the campaign start to `delivered`, median' }) p50: number;
  @ApiProperty() p90: number;
  @ApiProperty() p95: number;
  @ApiProperty({ description: 'Delivered deliveries the percentiles were computed over (capped for very large campaigns)' }) sampleSize: number;
}

export class CampaignReportDto extends CampaignFunnelDto {
  @ApiProperty({ type: [ReasonCountDto], description: 'Why deliveries were skipped' }) skippedReasons: ReasonCountDto[];
  @ApiProperty({ type: [ErrorCodeCountDto], description: 'Failed deliveries by provider error code' }) failedCodes: ErrorCodeCountDto[];
  @ApiProperty({ type: PercentilesDto, nullable: true }) timeToDeliveredSeconds: PercentilesDto | null;
  @ApiProperty({ type: PollResultsDto, nullable: true, description: 'Votes per option (poll campaigns only)' }) poll: PollResultsDto | null;
  @ApiProperty({ type: [ReactionCountDto], description: "Citizens' reactions (each citizen's latest)" }) reactions: ReactionCountDto[];
}

export const toCampaignReportResponse = (report: CampaignReport): CampaignReportDto => ({
  ...toCampaignFunnelResponse(report),
  skippedReasons: report.skippedReasons,
  failedCodes: report.failedCodes,
  timeToDeliveredSeconds: report.timeToDeliveredSeconds,
  poll: report.poll,
  reactions: report.reactions,
});

export class MonthlyUsageDto {
  @ApiProperty({ example: '2025-03' }) month: string;
  @ApiProperty({ description: 'Messages a subscriber may receive per month (emergencies excluded)' }) monthlyMessageCap: number;
  @ApiProperty({ description: 'Normal campaigns started this month (each reaches a subscriber at most once)' }) normalCampaigns: number;
  @ApiProperty() emergencyCampaigns: number;
  @ApiProperty({ description: "Deliveries of this month's campaigns handed to WhatsApp" }) messagesSent: number;
  @ApiProperty({ description: 'How many more normal campaigns reach every active subscriber within the monthly cap: the cap less the most any of them has used this month (campaigns to a topic use up only their followers’ cap)' }) remainingNormalCampaigns: number;
}

export const toMonthlyUsageResponse = (usage: MonthlyUsage): MonthlyUsageDto => ({ ...usage });

export class CampaignFunnelQueryDto extends PageQueryDto {}

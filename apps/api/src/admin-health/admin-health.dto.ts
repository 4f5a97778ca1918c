import { ApiProperty } from '@nestjs/swagger';
import { OperatorHealth } from '@app/analytics';

export class QueueCountsDto {
  @ApiProperty({ example: 'message-dispatch' }) name: string;
  @ApiProperty() waiting: number;
  @ApiProperty() active: number;
  @ApiProperty() delayed: number;
  @ApiProperty() failed: number;
}

export class ThroughputDto {
  @ApiProperty({ description: 'Deliveries handed to WhatsApp in the last minute' }) lastMinute: number;
  @ApiProperty({ description: 'Deliveries handed to WhatsApp in the last 5 minutes' }) last5Minutes: number;
}

export class ProviderErrorDto {
  @ApiProperty({ nullable: true, type: Number, example: 131026 }) code: number | null;
  @ApiProperty() count: number;
}

export class ChannelHealthDto {
  @ApiProperty() id: string;
  @ApiProperty() tenantId: string;
  @ApiProperty() tenantName: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['whatsapp_cloud', 'sandbox'] }) provider: string;
  @ApiProperty() displayPhoneNumber: string;
  @ApiProperty({ enum: ['active', 'paused'] }) status: string;
  @ApiProperty({ nullable: true, type: String }) pausedReason: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'GREEN' }) qualityRating: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'TIER_1K' }) messagingLimitTier: string | null;
  @ApiProperty() messagesPerSecond: number;
  @ApiProperty() sentLastMinute: number;
  @ApiProperty() sentLast5Minutes: number;
  @ApiProperty() sentLastHour: number;
  @ApiProperty() failedLastHour: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Of the messages tried in the last hour (handed to WhatsApp, or failed before), the share that failed; a message handed over and then reported failed counts once' }) errorRate: number | null;
  @ApiProperty({ type: [ProviderErrorDto], description: 'Failed deliveries by provider code, last 24 hours' }) providerErrors: ProviderErrorDto[];
}

export class StuckCampaignDto {
  @ApiProperty() id: string;
  @ApiProperty() tenantId: string;
  @ApiProperty() title: string;
  @ApiProperty({ description: 'Deliveries still queued or sending' }) pending: number;
  @ApiProperty() lastProgressAt: string;
}

export class HeldCampaignDto {
  @ApiProperty() id: string;
  @ApiProperty() tenantId: string;
  @ApiProperty() title: string;
  @ApiProperty({ enum: ['normal', 'emergency'] }) priority: string;
  @ApiProperty() channelId: string;
  @ApiProperty({ nullable: true, type: String }) pausedReason: string | null;
  @ApiProperty({ description: 'Deliveries waiting' }) queued: number;
}

export class TenantVolumeDto {
  @ApiProperty() tenantId: string;
  @ApiProperty() name: string;
  @ApiProperty() messagesLast30Days: number;
  @ApiProperty() campaignsLast30Days: number;
}

export class AdminHealthDto {
  @ApiProperty() generatedAt: string;
  @ApiProperty({ type: [QueueCountsDto] }) queues: QueueCountsDto[];
  @ApiProperty({ type: ThroughputDto }) throughput: ThroughputDto;
  @ApiProperty({ type: [ProviderErrorDto], description: 'Failed deliveries by provider error code, last 24 hours' }) providerErrors: ProviderErrorDto[];
  @ApiProperty({
    type: [ProviderErrorDto],
    description: 'Deliveries waiting to be tried again, by the code of their last attempt (130429: the rate is set above what Meta allows; 190: a token to renew); code null: no answer (network, timeout)',
  })
  retryingErrors: ProviderErrorDto[];
  @ApiProperty({ type: [ChannelHealthDto] }) channels: ChannelHealthDto[];
  @ApiProperty({ type: [StuckCampaignDto], description: 'Campaigns sending with no progress for 10 minutes' }) stuckCampaigns: StuckCampaignDto[];
  @ApiProperty({ type: [HeldCampaignDto], description: 'Campaigns sending on a paused channel (emergencies first): nothing of them goes until the channel is active' })
  heldCampaigns: HeldCampaignDto[];
  @ApiProperty({ type: [TenantVolumeDto], description: 'Comuni by messages handed to WhatsApp, last 30 days' }) tenantsByVolume: TenantVolumeDto[];
}

export const toAdminHealthResponse = (health: OperatorHealth): AdminHealthDto => ({
  ...health,
  queues: health.queues.map((q) => ({ name: q.name, waiting: q.waiting, active: q.active, delayed: q.delayed, failed: q.failed })),
});

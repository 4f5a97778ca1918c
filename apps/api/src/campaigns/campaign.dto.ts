import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsDefined,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { BadRequestError } from '@app/core';
import { Campaign, DeliveryRow } from '@app/campaigns';
import { PageQueryDto } from '@app/database';
import { CampaignMessage, DELIVERY_STATUSES, DeliveryStatus, ISO_DATE_TIME } from '@app/delivery';
import { NotBlank } from '../common/not-blank';

const MESSAGE_TYPES = ['text', 'template', 'poll', 'image'] as const;
const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'sending', 'completed', 'cancelled', 'failed'] as const;

/** At least one character that is not white space. */
/** No line break or tab, and at most four spaces in a row (Meta's rule for template parameters). */
const ONE_LINE_PARAMETER = /^(?![\s\S]*(?:[\t\n\r]| {5}))/;

export class CampaignTemplateDto {
  @ApiProperty({ example: 'allerta_meteo', description: 'An approved template of the channel' })
  @IsString() @Matches(/^[a-z0-9_]{1,512}$/, { message: 'name must be lowercase letters, digits and underscores' })
  name: string;

  @ApiProperty({ example: 'it' })
  @IsString() @Matches(/^[a-z]{2,3}(_[A-Z]{2})?$/, { message: 'language must be a language code such as it or en_US' })
  language: string;

  @ApiPropertyOptional({ type: [String], example: ['arancione', 'domani 12 novembre'], description: 'Values of the body variables, in order' })
  @IsOptional() @IsArray() @ArrayMaxSize(20) @IsString({ each: true }) @MinLength(1, { each: true }) @MaxLength(1024, { each: true })
  @NotBlank({ each: true })
  // WhatsApp refuses such a parameter (error 132018) for every recipient.
  @Matches(ONE_LINE_PARAMETER, { each: true, message: 'bodyParameters must not contain line breaks, tabs or more than four spaces in a row (WhatsApp refuses them)' })
  bodyParameters?: string[];
}

export class CampaignMessageDto {
  @ApiProperty({ enum: MESSAGE_TYPES })
  @IsIn(MESSAGE_TYPES)
  type: (typeof MESSAGE_TYPES)[number];

  @ApiPropertyOptional({ description: 'text: the message (1..4096 chars); poll: the question (1..1024 chars)', example: 'Allerta meteo arancione domani dalle 8.' })
  @ValidateIf((o: CampaignMessageDto) => o.type === 'text' || o.type === 'poll')
  @IsString() @MinLength(1) @MaxLength(4096) @NotBlank()
  text?: string;

  @ApiPropertyOptional({ type: CampaignTemplateDto, description: 'template: an approved template and its body parameters' })
  @ValidateIf((o: CampaignMessageDto) => o.type === 'template')
  @IsDefined() @IsObject() @ValidateNested() @Type(() => CampaignTemplateDto)
  template?: CampaignTemplateDto;

  @ApiPropertyOptional({ type: [String], example: ['Sì', 'No'], description: 'poll: 2..3 distinct options, each at most 20 chars (reply buttons)' })
  @ValidateIf((o: CampaignMessageDto) => o.type === 'poll')
  @IsArray() @ArrayMinSize(2) @ArrayMaxSize(3) @ArrayUnique((option: unknown) => (typeof option === 'string' ? option.trim().toLocaleLowerCase('it') : option), { message: 'options must all differ' })
  @IsString({ each: true }) @MinLength(1, { each: true }) @MaxLength(20, { each: true }) @NotBlank({ each: true })
  options?: string[];

  @ApiPropertyOptional({ example: 'https://www.comune.example.it/avvisi/mappa.jpg', description: 'image: http(s) URL of a JPEG or PNG' })
  @ValidateIf((o: CampaignMessageDto) => o.type === 'image')
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }) @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ description: 'image: caption (at most 1024 chars)' })
  @IsOptional() @IsString() @MaxLength(1024)
  caption?: string;
}

export class CreateCampaignDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  channelId: string;

  @ApiProperty({ example: 'Allerta meteo 12 novembre' })
  @IsString() @MinLength(1) @MaxLength(200) @NotBlank()
  title: string;

  @ApiProperty({ type: CampaignMessageDto })
  @IsDefined() @IsObject() @ValidateNested() @Type(() => CampaignMessageDto)
  message: CampaignMessageDto;

  @ApiPropertyOptional({ type: [String], example: ['protezione-civile'], description: 'Topic keys; without them every active subscriber of the channel' })
  @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) @MinLength(1, { each: true }) @MaxLength(64, { each: true })
  topics?: string[];

  @ApiPropertyOptional({ enum: ['normal', 'emergency'], default: 'normal', description: 'emergency: ahead of all normal traffic, ignores quiet hours and the monthly cap' })
  @IsOptional() @IsIn(['normal', 'emergency'])
  priority?: 'normal' | 'emergency';

  @ApiPropertyOptional({
    example: '2027-03-12T07:30',
    description: "When to send (ISO 8601 date and time); without an offset it is the comune's local time (its timezone), with one (Z, +01:00) that instant; a time already past is refused (400). The send request then schedules it",
  })
  @IsOptional()
  @Matches(ISO_DATE_TIME, { message: "scheduledAt must be an ISO 8601 date and time: 2026-12-03T08:00 (the comune's local time) or with an offset, 2026-12-03T08:00:00+01:00" })
  scheduledAt?: string;
}

/** Changes to a draft: any field of the creation, each optional. */
export class UpdateCampaignDto extends PartialType(CreateCampaignDto) {}

/** The typed message, refusing fields that belong to another type. */
export function toCampaignMessage(dto: CampaignMessageDto): CampaignMessage {
  const allowed: Record<CampaignMessageDto['type'], (keyof CampaignMessageDto)[]> = {
    text: ['text'],
    template: ['template'],
    poll: ['text', 'options'],
    image: ['url', 'caption'],
  };
  const extra = (['text', 'template', 'options', 'url', 'caption'] as const).filter((key) => dto[key] !== undefined && !allowed[dto.type].includes(key));
  if (extra.length > 0) throw new BadRequestError(extra.map((key) => `message.${key} is not allowed for a ${dto.type} message`).join('; '));
  switch (dto.type) {
    case 'text':
      return { type: 'text', text: dto.text! };
    case 'template':
      return {
        type: 'template',
        template: { name: dto.template!.name, language: dto.template!.language, ...(dto.template!.bodyParameters ? { bodyParameters: dto.template!.bodyParameters } : {}) },
      };
    case 'poll':
      if (dto.text!.length > 1024) throw new BadRequestError('message.text must be at most 1024 characters for a poll');
      return { type: 'poll', text: dto.text!, options: dto.options! };
    case 'image':
      return { type: 'image', url: dto.url!, ...(dto.caption ? { caption: dto.caption } : {}) };
  }
}

/**
 * Each delivery is counted once, by where it is now: the buckets add up to `recipients`. So `sent`
 * counts messages handed to WhatsApp and not (yet) reported delivered or read; the messages that
 * reached phones are delivered + read.
 */
export class CampaignStatsDto {
  @ApiProperty({ description: 'deliveries written for the audience; the other counts add up to it' }) recipients: number;
  @ApiProperty({ description: 'not yet handed to WhatsApp' }) queued: number;
  @ApiProperty({ description: 'handed to WhatsApp, not (yet) reported delivered or read' }) sent: number;
  @ApiProperty({ description: 'delivered to the phone, not (yet) read' }) delivered: number;
  @ApiProperty({ description: 'read (delivered too)' }) read: number;
  @ApiProperty({ description: 'refused by WhatsApp, or given up after retries (the delivery has the code)' }) failed: number;
  @ApiProperty({ description: 'not sent on purpose (the delivery says why: outside_window, monthly_cap, unsubscribed, cancelled)' }) skipped: number;
}

export class CampaignDto {
  @ApiProperty() id: string;
  @ApiProperty() channelId: string;
  @ApiProperty() title: string;
  @ApiProperty({ enum: CAMPAIGN_STATUSES }) status: string;
  @ApiProperty({ enum: ['normal', 'emergency'] }) priority: string;
  @ApiProperty({ type: CampaignMessageDto }) message: CampaignMessage;
  @ApiProperty({ type: [String] }) topics: string[];
  @ApiProperty({ nullable: true, type: String }) scheduledAt: string | null;
  @ApiProperty({ type: CampaignStatsDto, description: 'each delivery counts once, under its current status' }) stats: CampaignStatsDto;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) completedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) cancelledAt: string | null;
  @ApiProperty({ nullable: true, type: String }) failureReason: string | null;
  @ApiProperty() createdAt: string;
}

export class CampaignDetailDto extends CampaignDto {
  @ApiProperty({ nullable: true, type: String, description: 'What holds it back now: its channel is paused, the comune\'s quiet hours (normal campaigns), or messages waiting to be tried again after WhatsApp errors or for the daily messaging limit; null when nothing does' })
  heldBack: string | null;
}

export const toCampaignResponse = (campaign: Campaign): CampaignDto => ({
  id: campaign.id,
  channelId: campaign.channelId,
  title: campaign.title,
  status: campaign.status,
  priority: campaign.priority,
  message: campaign.message,
  topics: campaign.topics,
  scheduledAt: campaign.scheduledAt?.toISOString() ?? null,
  // A campaign just inserted carries the counters' database defaults only once reloaded: zero until then.
  stats: {
    recipients: campaign.recipients ?? 0,
    queued: campaign.queuedCount ?? 0,
    sent: campaign.sentCount ?? 0,
    delivered: campaign.deliveredCount ?? 0,
    read: campaign.readCount ?? 0,
    failed: campaign.failedCount ?? 0,
    skipped: campaign.skippedCount ?? 0,
  },
  startedAt: campaign.startedAt?.toISOString() ?? null,
  completedAt: campaign.completedAt?.toISOString() ?? null,
  cancelledAt: campaign.cancelledAt?.toISOString() ?? null,
  failureReason: campaign.failureReason,
  createdAt: campaign.createdAt.toISOString(),
});

export class CampaignListDto {
  @ApiProperty({ type: [CampaignDto] }) data: CampaignDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class CampaignListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: CAMPAIGN_STATUSES })
  @IsOptional() @IsIn(CAMPAIGN_STATUSES)
  status?: (typeof CAMPAIGN_STATUSES)[number];
}

export class SendCampaignResponseDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['sending', 'scheduled', 'completed', 'failed'], description: '`scheduled` for a future time or during quiet hours' }) status: string;
  @ApiProperty({ nullable: true, type: String }) scheduledAt: string | null;
  @ApiProperty({ type: [String], description: 'What will hold the campaign back, e.g. a paused channel; empty when nothing does' })
  warnings: string[];
}

export class DeliveryQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional() @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export class DeliveryDto {
  @ApiProperty({ nullable: true, type: String }) subscriberId: string | null;
  @ApiProperty({ nullable: true, type: String }) phone: string | null;
  @ApiProperty({ nullable: true, type: String, description: "The citizen's business-scoped user id when WhatsApp knows them by username only (phone null)" }) userId: string | null;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status: string;
  @ApiProperty({ nullable: true, type: String }) providerMessageId: string | null;
  @ApiProperty({ nullable: true, type: Number }) errorCode: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'why a delivery was skipped: outside_window, monthly_cap, unsubscribed, cancelled' }) reason: string | null;
  @ApiProperty() updatedAt: string;
}

export const toDeliveryResponse = (row: DeliveryRow): DeliveryDto => ({
  subscriberId: row.subscriberId,
  phone: row.phone,
  userId: row.userId,
  status: row.status,
  providerMessageId: row.providerMessageId,
  errorCode: row.errorCode === null ? null : Number(row.errorCode),
  reason: row.reason,
  updatedAt: new Date(row.updatedAt).toISOString(),
});

export class DeliveryListDto {
  @ApiProperty({ type: [DeliveryDto] }) data: DeliveryDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class PollOptionResultDto {
  @ApiProperty() title: string;
  @ApiProperty() votes: number;
}

export class PollResultsDto {
  @ApiProperty({ type: [PollOptionResultDto] }) options: PollOptionResultDto[];
}

export class ReactionCountDto {
  @ApiProperty({ example: '👍' }) emoji: string;
  @ApiProperty() count: number;
}

export class ReactionsDto {
  @ApiProperty({ type: [ReactionCountDto] }) data: ReactionCountDto[];
}

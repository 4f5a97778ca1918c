import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsNotEmpty, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageQueryDto } from '@app/database';
import { ConsentEvent, InboundMessage, SubscriberExport, SubscriberView } from '@app/subscribers';

export class CreateSubscriberDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'channelId must be a UUID' })
  channelId: string;

  @ApiProperty({ example: '+39 347 123 4567', description: 'Italian forms accepted (347 123 4567, +39 347…, 0039…); stored E.164' })
  @IsString({ message: 'phone must be a valid phone number' }) @MaxLength(40)
  phone: string;

  @ApiPropertyOptional({ example: 'Giulia Bianchi' }) @IsOptional() @IsString() @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ type: [String], example: ['protezione-civile'] })
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true })
  topics?: string[];

  @ApiPropertyOptional({ enum: ['api'], default: 'api' }) @IsOptional() @IsIn(['api'])
  consentSource?: 'api';
}

export class UpdateSubscriberDto {
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(200)
  name?: string | null;

  @ApiPropertyOptional({ type: [String], description: 'Replaces the set of topics' })
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true })
  topics?: string[];
}

export class SubscriberListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'channelId must be a UUID' })
  channelId?: string;

  @ApiPropertyOptional({ enum: ['active', 'unsubscribed', 'pending'] }) @IsOptional() @IsIn(['active', 'unsubscribed', 'pending'])
  status?: 'active' | 'unsubscribed' | 'pending';

  @ApiPropertyOptional({ description: 'Topic key' }) @IsOptional() @IsString() @MaxLength(64)
  topic?: string;

  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'true: only the citizens WhatsApp could not reach (see undeliverableSince); false: only the others' })
  @IsOptional() @IsIn(['true', 'false'], { message: 'undeliverable must be true or false' })
  undeliverable?: 'true' | 'false';
}

export class SubscriberDto {
  @ApiProperty() id: string;
  @ApiProperty() channelId: string;
  @ApiProperty({ nullable: true, type: String, example: '+393471234567' }) phone: string | null;
  @ApiProperty({ nullable: true, type: String, description: "Meta's business-scoped user id, for citizens known without a phone" }) userId: string | null;
  @ApiProperty({ nullable: true, type: String }) name: string | null;
  @ApiProperty({ enum: ['pending', 'active', 'unsubscribed'] }) status: string;
  @ApiProperty({ type: [String] }) topics: string[];
  @ApiProperty({ enum: ['keyword', 'web_form', 'import', 'api'] }) consentSource: string;
  @ApiProperty({ nullable: true, type: String }) subscribedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) unsubscribedAt: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Last message from the citizen (opens the 24-hour window)' }) lastInboundAt: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'Since when WhatsApp cannot reach this number (error 131026: not on WhatsApp, terms not accepted, or an outdated app): reach the citizen another way. Cleared when a message reaches their phone or they write; null when reachable',
  })
  undeliverableSince: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

export const toSubscriberResponse = ({ subscriber, topics }: SubscriberView): SubscriberDto => ({
  id: subscriber.id,
  channelId: subscriber.channelId,
  phone: subscriber.phone,
  userId: subscriber.userId,
  name: subscriber.name,
  status: subscriber.status,
  topics,
  consentSource: subscriber.consentSource,
  subscribedAt: iso(subscriber.subscribedAt),
  unsubscribedAt: iso(subscriber.unsubscribedAt),
  lastInboundAt: iso(subscriber.lastInboundAt),
  undeliverableSince: iso(subscriber.undeliverableSince),
  createdAt: iso(subscriber.createdAt)!,
  updatedAt: iso(subscriber.updatedAt)!,
});

export class SubscriberListDto {
  @ApiProperty({ type: [SubscriberDto] }) data: SubscriberDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class ConsentEventDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['requested', 'subscribed', 'unsubscribed', 'withdrawn', 'erased'], description: 'withdrawn: a signup never confirmed, called off' }) action: string;
  @ApiProperty() source: string;
  @ApiProperty({ nullable: true, type: String, description: 'The WhatsApp message that carried the keyword' }) messageId: string | null;
  @ApiProperty({ nullable: true, type: String }) privacyNoticeVersion: string | null;
  @ApiProperty({ nullable: true, type: Object }) details: Record<string, unknown> | null;
  @ApiProperty() occurredAt: string;
}

export const toConsentEventResponse = (e: ConsentEvent): ConsentEventDto => ({
  id: String(e.id),
  action: e.action,
  source: e.source,
  messageId: e.messageId,
  privacyNoticeVersion: e.privacyNoticeVersion,
  details: e.details,
  occurredAt: iso(e.occurredAt)!,
});

export class InboundMessageDto {
  @ApiProperty() id: string;
  @ApiProperty() channelId: string;
  @ApiProperty({ nullable: true, type: String }) subscriberId: string | null;
  @ApiProperty({ description: 'text, reaction, button_reply, quick_reply, media, ...' }) type: string;
  @ApiProperty({ nullable: true, type: String }) fromPhone: string | null;
  @ApiProperty({ nullable: true, type: String }) fromUserId: string | null;
  @ApiProperty({ nullable: true, type: String }) text: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'wamid of the message this answers or reacts to' }) contextMessageId: string | null;
  @ApiProperty({ nullable: true, type: String }) campaignId: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'subscribe, unsubscribe, already_subscribed, not_subscribed, outdated (a keyword older than the citizen\'s opposite decision), poll_vote, poll_vote_ignored, reaction, auto_reply, question, ...' }) handledAs: string | null;
  @ApiProperty() receivedAt: string;
}

export const toInboundMessageResponse = (m: InboundMessage): InboundMessageDto => ({
  id: m.id,
  channelId: m.channelId,
  subscriberId: m.subscriberId,
  type: m.type,
  fromPhone: m.fromPhone,
  fromUserId: m.fromUserId,
  text: m.text,
  contextMessageId: m.contextMessageId,
  campaignId: m.campaignId,
  handledAs: m.handledAs,
  receivedAt: iso(m.receivedAt)!,
});

export class PollVoteDto {
  @ApiProperty() campaignId: string;
  @ApiProperty() optionIndex: number;
  @ApiProperty() answeredAt: string;
}

export class SubscriberDeliveryDto {
  @ApiProperty() campaignId: string;
  @ApiProperty() campaignTitle: string;
  @ApiProperty({ enum: ['queued', 'sent', 'delivered', 'read', 'failed', 'skipped'] }) status: string;
  @ApiProperty({ nullable: true, type: String, description: 'why it was skipped' }) reason: string | null;
  @ApiProperty({ nullable: true, type: Number, description: "WhatsApp's error code, when it failed" }) errorCode: number | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) sentAt: string | null;
  @ApiProperty({ nullable: true, type: String }) deliveredAt: string | null;
  @ApiProperty({ nullable: true, type: String }) readAt: string | null;
  @ApiProperty({ nullable: true, type: String }) failedAt: string | null;
}

export class SubscriberExportDto {
  @ApiProperty({ type: SubscriberDto }) subscriber: SubscriberDto;
  @ApiProperty({ type: [ConsentEventDto] }) consentHistory: ConsentEventDto[];
  @ApiProperty({ type: [InboundMessageDto] }) messages: InboundMessageDto[];
  @ApiProperty({ type: [PollVoteDto] }) pollVotes: PollVoteDto[];
  @ApiProperty({ type: [SubscriberDeliveryDto], description: 'The campaign messages meant for them, and what became of each' }) deliveries: SubscriberDeliveryDto[];
  @ApiProperty() exportedAt: string;
}

export const toSubscriberExport = (data: SubscriberExport): SubscriberExportDto => ({
  subscriber: toSubscriberResponse(data.subscriber),
  consentHistory: data.consentHistory.map(toConsentEventResponse),
  messages: data.inboundMessages.map(toInboundMessageResponse),
  pollVotes: data.pollVotes.map((v) => ({ campaignId: v.campaignId, optionIndex: Number(v.optionIndex), answeredAt: iso(v.answeredAt)! })),
  deliveries: data.deliveries.map((d) => ({
    campaignId: d.campaignId,
    campaignTitle: d.campaignTitle,
    status: d.status,
    reason: d.reason,
    errorCode: d.errorCode,
    createdAt: iso(d.createdAt)!,
    sentAt: iso(d.sentAt),
    deliveredAt: iso(d.deliveredAt),
    readAt: iso(d.readAt),
    failedAt: iso(d.failedAt),
  })),
  exportedAt: new Date().toISOString(),
});

export class InboxQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID('all', { message: 'channelId must be a UUID' })
  channelId?: string;

  @ApiPropertyOptional({ description: 'question, auto_reply, subscribe, unsubscribe, poll_vote, reaction, ...' })
  @IsOptional() @IsString() @MaxLength(32)
  handledAs?: string;
}

export class InboxListDto {
  @ApiProperty({ type: [InboundMessageDto] }) data: InboundMessageDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class ImportSubscribersDto {
  @ApiProperty({ format: 'uuid' })
  @IsNotEmpty({ message: 'channelId is required: a form field beside file' })
  @IsUUID('all', { message: 'channelId must be a UUID' })
  channelId: string;
}

export class ImportRejectionDto {
  @ApiProperty({ description: 'Line number in the file (the header is line 1)' }) line: number;
  @ApiProperty() reason: string;
}

export class ImportResultDto {
  @ApiProperty({ description: 'New subscribers (active, consent source import)' }) imported: number;
  @ApiProperty({ description: 'Subscribers already known: name and topics merged, status kept' }) updated: number;
  @ApiProperty({ description: 'Lines naming a phone an earlier line had: merged into that subscriber. imported + updated + merged + rejectedCount = the lines of data' })
  merged: number;
  @ApiProperty({ type: [ImportRejectionDto], description: 'The first 1,000 rejected lines' }) rejected: ImportRejectionDto[];
  @ApiProperty({ description: 'Every rejected line, listed or not' }) rejectedCount: number;
}

export class UnsubscribedDto extends SubscriberDto {}


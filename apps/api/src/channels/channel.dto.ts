import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { Channel, ChannelProvider, resolveSettings } from '@app/channels';
import { IsOmittable } from '../common/is-omittable';
import { NotBlank } from '../common/not-blank';

export class FallbackTemplateDto {
  @ApiProperty({ example: 'avviso_generico' }) @IsString() @Matches(/^[a-z0-9_]{1,512}$/, { message: 'name must be lowercase letters, digits and underscores' })
  name: string;

  @ApiProperty({ example: 'it' }) @IsString() @Matches(/^[a-z]{2,3}(_[A-Z]{2})?$/, { message: 'language must be a language code such as it or en_US' })
  language: string;
}

/** Behaviour settings shared by create and update. */
class ChannelSettingsFields {
  @ApiPropertyOptional({ type: [String], example: ['ATTIVA ISCRIZIONE'], description: 'Subscribe keywords (case, accents and spaces ignored)' })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(10) @IsString({ each: true }) @MinLength(1, { each: true }) @MaxLength(64, { each: true }) @NotBlank({ each: true })
  subscribeKeywords?: string[];

  @ApiPropertyOptional({ type: [String], example: ['DISATTIVA ISCRIZIONE', 'STOP'] })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(10) @IsString({ each: true }) @MinLength(1, { each: true }) @MaxLength(64, { each: true }) @NotBlank({ each: true })
  unsubscribeKeywords?: string[];

  @ApiPropertyOptional({ description: 'Welcome text; placeholders {comune}, {privacy}, {contatti}, {iscrizione}, {cancellazione}' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(4096) @NotBlank()
  welcomeText?: string;

  @ApiPropertyOptional({ description: 'Goodbye text after an opt-out' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(4096) @NotBlank()
  goodbyeText?: string;

  @ApiPropertyOptional({ description: 'Answer to the subscribe keyword from someone already subscribed' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(4096) @NotBlank()
  alreadySubscribedText?: string;

  @ApiPropertyOptional({ description: 'Answer to the unsubscribe keyword from someone not subscribed' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(4096) @NotBlank()
  notSubscribedText?: string;

  @ApiPropertyOptional({ description: 'Automatic answer to any other message (at most once a day per person)' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(4096) @NotBlank()
  autoReplyText?: string;

  @ApiPropertyOptional({ example: 'lun-ven 9:00-13:00', nullable: true })
  @IsOptional() @IsString() @MaxLength(200)
  officeHours?: string | null;

  @ApiPropertyOptional({ example: 'https://www.comune.valdoria.example/privacy-whatsapp', nullable: true })
  @IsOptional() @IsUrl({ require_protocol: true, protocols: ['http', 'https'] }) @MaxLength(2048)
  privacyPolicyUrl?: string | null;

  @ApiPropertyOptional({ example: '2026-10', description: 'Version of the privacy notice recorded with each consent' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(64)
  privacyNoticeVersion?: string;

  @ApiPropertyOptional({ example: 'URP, tel. 0587 123456, segnalazioni: https://www.comune.valdoria.example/segnala', nullable: true })
  @IsOptional() @IsString() @MaxLength(500)
  contactInfo?: string | null;
}

const isCloud = (o: { provider?: string }) => o.provider !== ChannelProvider.Sandbox;

export class CreateChannelDto extends ChannelSettingsFields {
  @ApiProperty({ example: 'WhatsApp del Comune' }) @IsString() @MinLength(1) @MaxLength(100) @NotBlank()
  name: string;

  @ApiProperty({ enum: ChannelProvider }) @IsIn(Object.values(ChannelProvider))
  provider: ChannelProvider;

  @ApiProperty({ example: '118204937561023', description: "Meta's phone_number_id; unique across the platform (optional for sandbox)" })
  @ValidateIf((o) => isCloud(o) || o.phoneNumberId !== undefined) @IsString() @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'phoneNumberId must be 1-64 letters or digits' })
  phoneNumberId?: string;

  @ApiProperty({ example: '104938275610492', description: 'WhatsApp Business Account id (optional for sandbox)' })
  @ValidateIf((o) => isCloud(o) || o.wabaId !== undefined) @IsString() @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'wabaId must be 1-64 letters or digits' })
  wabaId?: string;

  @ApiProperty({ example: '390587123450', description: 'The number citizens write to (digits, optional +)' })
  @ValidateIf((o) => isCloud(o) || o.displayPhoneNumber !== undefined) @IsString() @Matches(/^\+?[0-9 ]{5,32}$/, { message: 'displayPhoneNumber must be a phone number' })
  displayPhoneNumber?: string;

  @ApiProperty({ writeOnly: true, description: 'System-user access token; stored encrypted, never returned' })
  @ValidateIf((o) => isCloud(o) || o.accessToken !== undefined) @IsString() @IsNotEmpty() @MaxLength(2048)
  accessToken?: string;

  @ApiProperty({ writeOnly: true, description: 'Meta app secret (webhook signatures); stored encrypted, never returned' })
  @ValidateIf((o) => isCloud(o) || o.appSecret !== undefined) @IsString() @IsNotEmpty() @MaxLength(512)
  appSecret?: string;

  @ApiProperty({ writeOnly: true, description: 'Verify token of the webhook handshake; stored encrypted, never returned' })
  @ValidateIf((o) => isCloud(o) || o.verifyToken !== undefined) @IsString() @IsNotEmpty() @MaxLength(512)
  verifyToken?: string;

  @ApiPropertyOptional({ default: 80, minimum: 1, maximum: 1000 }) @IsOptional() @IsInt() @Min(1) @Max(1000)
  messagesPerSecond?: number;

  @ApiPropertyOptional({ type: FallbackTemplateDto, nullable: true, description: 'Approved template with one body parameter, for text campaigns outside the 24-hour window' })
  @IsOptional() @IsObject() @ValidateNested() @Type(() => FallbackTemplateDto)
  fallbackTemplate?: FallbackTemplateDto | null;
}

export class UpdateChannelDto extends ChannelSettingsFields {
  @ApiPropertyOptional() @IsOmittable() @IsString() @MinLength(1) @MaxLength(100) @NotBlank()
  name?: string;

  @ApiPropertyOptional() @IsOmittable() @IsString() @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'phoneNumberId must be 1-64 letters or digits' })
  phoneNumberId?: string;

  @ApiPropertyOptional() @IsOmittable() @IsString() @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'wabaId must be 1-64 letters or digits' })
  wabaId?: string;

  @ApiPropertyOptional() @IsOmittable() @IsString() @Matches(/^\+?[0-9 ]{5,32}$/, { message: 'displayPhoneNumber must be a phone number' })
  displayPhoneNumber?: string;

  @ApiPropertyOptional({ writeOnly: true }) @IsOmittable() @IsString() @IsNotEmpty() @MaxLength(2048)
  accessToken?: string;

  @ApiPropertyOptional({ writeOnly: true }) @IsOmittable() @IsString() @IsNotEmpty() @MaxLength(512)
  appSecret?: string;

  @ApiPropertyOptional({ writeOnly: true }) @IsOmittable() @IsString() @IsNotEmpty() @MaxLength(512)
  verifyToken?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000 }) @IsOmittable() @IsInt() @Min(1) @Max(1000)
  messagesPerSecond?: number;

  @ApiPropertyOptional({ type: FallbackTemplateDto, nullable: true }) @IsOptional() @IsObject() @ValidateNested() @Type(() => FallbackTemplateDto)
  fallbackTemplate?: FallbackTemplateDto | null;

  @ApiPropertyOptional({ enum: ['active', 'paused'] }) @IsOmittable() @IsIn(['active', 'paused'])
  status?: 'active' | 'paused';
}

/** A channel as the API shows it: never a secret. */
export class ChannelDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ChannelProvider }) provider: string;
  @ApiProperty() phoneNumberId: string;
  @ApiProperty() wabaId: string;
  @ApiProperty() displayPhoneNumber: string;
  @ApiProperty() messagesPerSecond: number;
  @ApiProperty({ type: FallbackTemplateDto, nullable: true }) fallbackTemplate: FallbackTemplateDto | null;
  @ApiProperty({ enum: ['active', 'paused'] }) status: string;
  @ApiProperty({ nullable: true, type: String }) pausedReason: string | null;
  @ApiProperty({ type: [String] }) subscribeKeywords: string[];
  @ApiProperty({ type: [String] }) unsubscribeKeywords: string[];
  @ApiProperty() welcomeText: string;
  @ApiProperty() goodbyeText: string;
  @ApiProperty() alreadySubscribedText: string;
  @ApiProperty() notSubscribedText: string;
  @ApiProperty() autoReplyText: string;
  @ApiProperty({ nullable: true, type: String }) officeHours: string | null;
  @ApiProperty({ nullable: true, type: String }) privacyPolicyUrl: string | null;
  @ApiProperty() privacyNoticeVersion: string;
  @ApiProperty({ nullable: true, type: String }) contactInfo: string | null;
  @ApiProperty({ description: 'Webhook URL to configure in Meta for this channel' }) webhookPath: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export const toChannelResponse = (channel: Channel): ChannelDto => {
  const s = resolveSettings(channel);
  return {
    id: channel.id,
    name: channel.name,
    provider: channel.provider,
    phoneNumberId: channel.phoneNumberId,
    wabaId: channel.wabaId,
    displayPhoneNumber: channel.displayPhoneNumber,
    messagesPerSecond: channel.messagesPerSecond,
    fallbackTemplate: channel.fallbackTemplate,
    status: channel.status,
    pausedReason: channel.pausedReason,
    subscribeKeywords: s.subscribeKeywords,
    unsubscribeKeywords: s.unsubscribeKeywords,
    welcomeText: s.welcomeText,
    goodbyeText: s.goodbyeText,
    alreadySubscribedText: s.alreadySubscribedText,
    notSubscribedText: s.notSubscribedText,
    autoReplyText: s.autoReplyText,
    officeHours: s.officeHours,
    privacyPolicyUrl: s.privacyPolicyUrl,
    privacyNoticeVersion: s.privacyNoticeVersion,
    contactInfo: s.contactInfo,
    webhookPath: `/v1/webhooks/whatsapp/${channel.id}`,
    createdAt: channel.createdAt.toISOString(),
    updatedAt: channel.updatedAt.toISOString(),
  };
};

export class ChannelListDto {
  @ApiProperty({ type: [ChannelDto] }) data: ChannelDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

/** Splits a create/update body into channel fields and behaviour settings. */
export function splitChannelBody<T extends ChannelSettingsFields>(body: T) {
  const { subscribeKeywords, unsubscribeKeywords, welcomeText, goodbyeText, alreadySubscribedText, notSubscribedText, autoReplyText, officeHours, privacyPolicyUrl, privacyNoticeVersion, contactInfo, ...fields } = body;
  const settings = { subscribeKeywords, unsubscribeKeywords, welcomeText, goodbyeText, alreadySubscribedText, notSubscribedText, autoReplyText, officeHours, privacyPolicyUrl, privacyNoticeVersion, contactInfo };
  return { fields, settings };
}

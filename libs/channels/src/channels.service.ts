import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { AuditAction, AuditLogService } from '@app/audit';
import { ConflictError, Principal, TenantId } from '@app/core';
import { Page, PageQueryDto } from '@app/database';
import type { PhoneQualityEvent } from '@app/whatsapp';
import { Channel, ChannelProvider, ChannelSettings, FallbackTemplate } from './channel.entity';
import { ChannelSecrets } from './channel-secrets';
import { ChannelsRepository } from './channels.repository';
import { assertUsableSettings, normalizeKeyword, resolveSettings } from './channel-settings';
import { MessageTemplatesService } from './message-templates.service';

export interface NewChannel {
  name: string;
  provider: ChannelProvider;
  phoneNumberId?: string;
  wabaId?: string;
  displayPhoneNumber?: string;
  accessToken?: string;
  appSecret?: string;
  verifyToken?: string;
  messagesPerSecond?: number;
  fallbackTemplate?: FallbackTemplate | null;
  settings?: Partial<ChannelSettings>;
}

export type ChannelPatch = Partial<Omit<NewChannel, 'provider'>> & { status?: 'active' | 'paused' };

const SETTING_KEYS: (keyof ChannelSettings)[] = [
  'subscribeKeywords',
  'unsubscribeKeywords',
  'welcomeText',
  'goodbyeText',
  'alreadySubscribedText',
  'notSubscribedText',
  'autoReplyText',
  'officeHours',
  'privacyPolicyUrl',
  'privacyNoticeVersion',
  'contactInfo',
];

const CREDENTIAL_FIELDS = ['phoneNumberId', 'wabaId', 'accessToken', 'appSecret', 'verifyToken'] as const;

const sandboxId = () => `sandbox-${randomBytes(8).toString('hex')}`;

@Injectable()
export class ChannelsService {
  private readonly logger = new Logger(ChannelsService.name);

  constructor(
    private readonly channels: ChannelsRepository,
    private readonly secrets: ChannelSecrets,
    private readonly audit: AuditLogService,
    private readonly templates: MessageTemplatesService,
  ) {}

  /**
   * Meta reported a number's quality flag or messaging-limit tier (`phone_number_quality_update`,
   * routed by WABA and display number among the channels that verified the webhook): kept on the
   * channel for the operator's health view and the delivery pipeline's daily limit.
   */
  async applyQualityUpdate(candidates: Channel[], wabaId: string | null, update: PhoneQualityEvent): Promise<Channel | null> {
    const channel = candidates.find(
      (c) => (wabaId === null || c.wabaId === wabaId) && c.displayPhoneNumber.replace(/\D/g, '') === update.displayPhoneNumber,
    );
    if (!channel) return null;
    const qualityRating = update.event === 'FLAGGED' ? 'RED' : update.event === 'UNFLAGGED' ? 'GREEN' : channel.qualityRating;
    const messagingLimitTier = update.messagingLimitTier ?? channel.messagingLimitTier;
    await this.channels.updateHealth(channel.id, qualityRating, messagingLimitTier);
    if (update.event === 'FLAGGED' || update.event === 'DOWNGRADE') {
      this.logger.warn(`channel ${channel.id} (tenant ${channel.tenantId}): Meta reports ${update.event}, tier ${messagingLimitTier ?? 'unknown'}`);
    }
    await this.audit.record({
      tenantId: channel.tenantId,
      actor: { kind: 'system' },
      action: AuditAction.ChannelQualityChanged,
      target: { type: 'channel', id: channel.id },
      details: { event: update.event, qualityRating, messagingLimitTier },
    });
    return { ...channel, qualityRating, messagingLimitTier } as Channel;
  }

  async create(tenantId: TenantId, input: NewChannel, actor?: Principal): Promise<Channel> {
    const sandbox = input.provider === ChannelProvider.Sandbox;
    const phoneNumberId = input.phoneNumberId ?? sandboxId();
    if (await this.channels.existsWithPhoneNumberId(phoneNumberId)) {
      throw new ConflictError(`phoneNumberId ${phoneNumberId} is already connected to a channel`);
    }
    const channel = await this.channels.insert(tenantId, {
      name: input.name,
      provider: input.provider,
      phoneNumberId,
      wabaId: input.wabaId ?? (sandbox ? 'sandbox' : ''),
      displayPhoneNumber: input.displayPhoneNumber ?? (sandbox ? '390000000000' : ''),
      accessTokenSealed: this.secrets.seal(input.accessToken ?? randomBytes(16).toString('hex')),
      appSecretSealed: this.secrets.seal(input.appSecret ?? randomBytes(16).toString('hex')),
      verifyTokenSealed: this.secrets.seal(input.verifyToken ?? randomBytes(16).toString('hex')),
      messagesPerSecond: input.messagesPerSecond ?? 80,
      fallbackTemplate: input.fallbackTemplate ?? null,
      settings: checkedSettings(pickSettings(input.settings ?? {})),
      status: 'active',
    });
    await this.audit.record({ tenantId, actor: actor ?? { kind: 'system' }, action: AuditAction.ChannelCreated, target: { type: 'channel', id: channel.id }, details: { provider: channel.provider, phoneNumberId } });
    return channel;
  }

  list(tenantId: TenantId, page: PageQueryDto): Promise<Page<Channel>> {
    return this.channels.list(tenantId, page);
  }

  getById(tenantId: TenantId, id: string): Promise<Channel> {
    return this.channels.getById(tenantId, id);
  }

  async update(tenantId: TenantId, id: string, patch: ChannelPatch, actor?: Principal): Promise<Channel> {
    const channel = await this.channels.getById(tenantId, id);
    if (patch.phoneNumberId !== undefined && patch.phoneNumberId !== channel.phoneNumberId) {
      if (await this.channels.existsWithPhoneNumberId(patch.phoneNumberId)) {
        throw new ConflictError(`phoneNumberId ${patch.phoneNumberId} is already connected to a channel`);
      }
      channel.phoneNumberId = patch.phoneNumberId;
    }
    if (patch.name !== undefined) channel.name = patch.name;
    if (patch.wabaId !== undefined && patch.wabaId !== channel.wabaId) {
      channel.wabaId = patch.wabaId;
      // Another account: its template list has not been read yet.
      channel.templatesSyncedAt = null;
    }
    if (patch.displayPhoneNumber !== undefined) channel.displayPhoneNumber = patch.displayPhoneNumber;
    if (patch.messagesPerSecond !== undefined) channel.messagesPerSecond = patch.messagesPerSecond;
    if (patch.fallbackTemplate !== undefined) channel.fallbackTemplate = patch.fallbackTemplate;
    // Known from the synced templates: one that cannot carry the campaign text is refused now.
    if (patch.fallbackTemplate) await this.templates.assertFallbackFits(tenantId, channel, patch.fallbackTemplate);
    if (patch.status !== undefined) {
      channel.status = patch.status;
      if (patch.status === 'active') channel.pausedReason = null;
    }
    if (patch.accessToken !== undefined) channel.accessTokenSealed = this.secrets.seal(patch.accessToken);
    if (patch.appSecret !== undefined) channel.appSecretSealed = this.secrets.seal(patch.appSecret);
    if (patch.verifyToken !== undefined) channel.verifyTokenSealed = this.secrets.seal(patch.verifyToken);
    if (patch.settings) {
      channel.settings = { ...channel.settings, ...pickSettings(patch.settings) };
      assertUsableSettings(resolveSettings(channel));
    }
    const saved = await this.channels.save(tenantId, channel);
    this.secrets.invalidate(id);
    // Which credentials changed, never their values.
    const credentials = CREDENTIAL_FIELDS.filter((field) => patch[field] !== undefined);
    if (credentials.length > 0) {
      await this.audit.record({ tenantId, actor: actor ?? { kind: 'system' }, action: AuditAction.ChannelCredentialsChanged, target: { type: 'channel', id }, details: { fields: credentials } });
    }
    return saved;
  }

  /** Deletes the channel with its subscribers and campaigns; refused while a campaign on it is sending or scheduled. */
  async delete(tenantId: TenantId, id: string, actor?: Principal): Promise<void> {
    await this.channels.getById(tenantId, id);
    if (await this.channels.hasCampaignsInFlight(tenantId, id)) {
      throw new ConflictError('This channel has campaigns sending or scheduled: cancel them before deleting it', 'channel_in_use');
    }
    const removed = await this.channels.deleteWithSubscribers(tenantId, id);
    this.secrets.invalidate(id);
    await this.audit.record({ tenantId, actor: actor ?? { kind: 'system' }, action: AuditAction.ChannelDeleted, target: { type: 'channel', id }, details: removed });
  }
}

function pickSettings(input: Partial<ChannelSettings>): Partial<ChannelSettings> {
  const settings: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) if (input[key] !== undefined) settings[key] = input[key];
  for (const key of ['subscribeKeywords', 'unsubscribeKeywords'] as const) if (Array.isArray(input[key])) settings[key] = tidyKeywords(input[key]);
  return settings as Partial<ChannelSettings>;
}

/**
 * Keywords as they will be shown to citizens (the first fills `{iscrizione}` / `{cancellazione}`):
 * spaces trimmed and collapsed, and each keyword once, however it was written (they match
 * regardless of case, accents and punctuation).
 */
export function tidyKeywords(keywords: string[]): string[] {
  const seen = new Set<string>();
  const tidy: string[] = [];
  for (const keyword of keywords) {
    const shown = keyword.replace(/\s+/g, ' ').trim();
    const key = normalizeKeyword(shown);
    if (seen.has(key)) continue;
    seen.add(key);
    tidy.push(shown);
  }
  return tidy;
}

/** New settings, refused (400) when the channel could not work with them. */
function checkedSettings(settings: Partial<ChannelSettings>): Partial<ChannelSettings> {
  assertUsableSettings(resolveSettings({ settings: settings as ChannelSettings }));
  return settings;
}

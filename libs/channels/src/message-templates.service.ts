import { Injectable, Logger } from '@nestjs/common';
import { AuditAction, AuditLogService } from '@app/audit';
import { Page, PageQueryDto } from '@app/database';
import { asTenantId, BadRequestError, Clock, ConflictError, DomainError, ErrorKind, Principal, TenantId } from '@app/core';
import { GraphApiError, GraphTemplate, TemplateStatusEvent, templateBodyParameters, templateQuickReplies, WhatsAppClient } from '@app/whatsapp';
import { Channel, ChannelProvider, FallbackTemplate } from './channel.entity';
import { ChannelSecrets } from './channel-secrets';
import { ChannelsRepository } from './channels.repository';
import { MessageTemplate } from './message-template.entity';
import { ListedTemplate, MessageTemplatesRepository } from './message-templates.repository';
import { templateEventNote, templateStatusAfter } from './template-status';

/** Pages of 100 read at most in one sync: Meta allows up to 6,000 templates per WABA. */
const MAX_PAGES = 100;

export interface TemplateList {
  channel: Channel;
  templates: Page<MessageTemplate>;
}

/**
 * A comune's WhatsApp message templates (whatsapp-cloud-api.md §7, §10.9): listed from Meta on
 * demand and periodically, kept current by Meta's template webhooks, and checked before a campaign
 * is sent, so that a template that is not APPROVED (or does not exist, or takes other parameters)
 * is refused once, with the reason, instead of failing once per citizen.
 */
/** Template statuses no later review undoes: such a template cannot be a channel's fallback. */
const UNUSABLE_FOR_GOOD = new Set(['REJECTED', 'DISABLED', 'PENDING_DELETION', 'DELETED', 'ARCHIVED']);

@Injectable()
export class MessageTemplatesService {
  private readonly logger = new Logger(MessageTemplatesService.name);

  constructor(
    private readonly templates: MessageTemplatesRepository,
    private readonly channels: ChannelsRepository,
    private readonly secrets: ChannelSecrets,
    private readonly client: WhatsAppClient,
    private readonly audit: AuditLogService,
    private readonly clock: Clock,
  ) {}

  /** A page of the templates of the channel's WABA as last known (none for a sandbox). */
  async list(tenantId: TenantId, channelId: string, page: PageQueryDto = {}): Promise<TemplateList> {
    const channel = await this.channels.getById(tenantId, channelId);
    const templates = channel.provider === ChannelProvider.Sandbox ? { data: [], nextCursor: null } : await this.templates.pageOfWaba(tenantId, channel.wabaId, page);
    return { channel, templates };
  }

  /**
   * Lists the channel's WABA templates from Meta and keeps them (every channel of the comune on
   * that WABA is synced with it). 409 for a sandbox or when Meta refuses (credentials, WABA id);
   * 503 when Meta cannot be reached.
   */
  async sync(tenantId: TenantId, channelId: string, actor?: Principal, page: PageQueryDto = {}): Promise<TemplateList> {
    const channel = await this.channels.getById(tenantId, channelId);
    if (channel.provider === ChannelProvider.Sandbox) {
      throw new ConflictError('A sandbox channel has no WhatsApp templates: it sends any template name as it is', 'sandbox_channel');
    }
    const changed = await this.syncWaba(channel);
    if (actor) {
      await this.audit.record({ tenantId, actor, action: AuditAction.TemplatesSynced, target: { type: 'channel', id: channel.id }, details: { wabaId: channel.wabaId, changed } });
    }
    return this.list(tenantId, channelId, page);
  }

  /**
   * The periodic sync: every comune's Cloud API WABAs, one after the other (a WABA's list is a few
   * management calls; Meta allows thousands per hour). A failure is logged and the rest goes on.
   * Answers how many WABAs were synced.
   */
  async syncAll(): Promise<number> {
    const seen = new Set<string>();
    let synced = 0;
    for (const channel of await this.channels.findAllCloud()) {
      const key = `${channel.tenantId}/${channel.wabaId}`;
      if (seen.has(key) || channel.status !== 'active' || !channel.wabaId) continue;
      seen.add(key);
      try {
        await this.syncWaba(channel);
        synced++;
      } catch (error) {
        this.logger.warn({ tenantId: channel.tenantId, channelId: channel.id }, `template sync of WABA ${channel.wabaId} failed: ${(error as Error).message}`);
      }
    }
    return synced;
  }

  private async syncWaba(channel: Channel): Promise<number> {
    const { accessToken } = this.secrets.open(channel);
    const listed: GraphTemplate[] = [];
    let after: string | null = null;
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await this.client.listTemplates({ wabaId: channel.wabaId, accessToken }, after);
        listed.push(...result.templates);
        after = result.after;
        if (!after) break;
      }
    } catch (error) {
      if (!(error instanceof GraphApiError)) throw error;
      if (error.code === null && error.httpStatus === null) {
        throw new DomainError(ErrorKind.Unavailable, `WhatsApp could not be reached to list the templates: ${error.message}`, 'provider_unavailable');
      }
      // Meta's own failure (a 5xx, or its transient codes 1 and 2): nothing to fix on the channel.
      if ((error.httpStatus !== null && error.httpStatus >= 500) || error.code === 1 || error.code === 2) {
        throw new DomainError(
          ErrorKind.Unavailable,
          `WhatsApp failed to list the templates of WABA ${channel.wabaId}${error.code !== null ? ` (error ${error.code})` : ` (HTTP ${error.httpStatus})`}: ${error.message}. Nothing was changed; try again in a few minutes`,
          'provider_unavailable',
        );
      }
      const throttled = error.code === 4 || error.code === 80007 || error.httpStatus === 429;
      const hint = throttled
        ? "Meta's limit on management calls for this account was reached: try again later"
        : error.httpStatus !== null && error.httpStatus < 300
          ? 'Nothing was changed; try again later'
          : "Check the channel's wabaId and accessToken";
      throw new ConflictError(
        `WhatsApp refused to list the templates of WABA ${channel.wabaId}${error.code !== null ? ` (error ${error.code})` : ` (HTTP ${error.httpStatus})`}: ${error.message}. ${hint}`,
        'template_sync_refused',
      );
    }
    const templates: ListedTemplate[] = listed.map((t) => {
      const body = templateBodyParameters(t.components, t.parameterFormat);
      return { name: t.name, language: t.language, status: t.status, category: t.category, providerTemplateId: t.id, bodyParameterCount: body.count, bodyParameterNames: body.names, quickReplies: templateQuickReplies(t.components) };
    });
    const changed = await this.templates.replaceList(asTenantId(channel.tenantId), channel.wabaId, templates, this.clock.now());
    this.logger.log({ tenantId: channel.tenantId, wabaId: channel.wabaId, templates: templates.length, changed }, 'templates synced');
    return changed;
  }

  /**
   * Meta reported a template's status or category (WABA-level webhook, routed by `entry.id` among
   * the channels that verified the event's signature): applied to each comune on that WABA, with
   * an audit line when the status changes. Answers how many comuni it was applied to.
   */
  async applyStatusEvent(candidates: Channel[], wabaId: string | null, event: TemplateStatusEvent): Promise<number> {
    if (!wabaId) return 0;
    const tenants = new Set(candidates.filter((c) => c.provider === ChannelProvider.WhatsAppCloud && c.wabaId === wabaId).map((c) => c.tenantId));
    const status = templateStatusAfter(event.event);
    let applied = 0;
    for (const tenantId of tenants) {
      const result = await this.templates.applyReport(asTenantId(tenantId), wabaId, {
        name: event.name,
        language: event.language,
        status,
        category: event.category,
        reason: templateEventNote(event.event, event.reason),
        providerTemplateId: event.templateId,
      });
      if (!result) continue;
      applied++;
      if (result.before !== result.after || event.event === 'FLAGGED') {
        if (!result.after || !MessageTemplatesRepository.sendable(result.after)) {
          this.logger.warn({ tenantId, wabaId }, `template ${event.name} (${event.language}) is now ${result.after}${event.reason ? `: ${event.reason}` : ''}`);
        }
        await this.audit.record({
          tenantId,
          actor: { kind: 'system' },
          action: AuditAction.TemplateStatusChanged,
          target: { type: 'template', id: result.id },
          details: { name: event.name, language: event.language, event: event.event, from: result.before, to: result.after, reason: event.reason },
        });
      }
    }
    return applied;
  }

  /**
   * Meta refused sends of a template because it is paused (132015) or disabled (132016): the
   * platform takes note, so that the next campaign with it is refused at send rather than sent to
   * fail again. Other codes say nothing certain about the template's status.
   */
  async noteSendRefusal(channel: Channel, template: { name: string; language: string }, code: number): Promise<void> {
    const status = code === 132015 ? 'PAUSED' : code === 132016 ? 'DISABLED' : null;
    if (!status || channel.provider !== ChannelProvider.WhatsAppCloud) return;
    const result = await this.templates.applyReport(asTenantId(channel.tenantId), channel.wabaId, {
      name: template.name,
      language: template.language,
      status,
      category: null,
      reason: `WhatsApp refused sends with error ${code}`,
      providerTemplateId: null,
    });
    if (result && result.before !== result.after) {
      await this.audit.record({
        tenantId: channel.tenantId,
        actor: { kind: 'system' },
        action: AuditAction.TemplateStatusChanged,
        target: { type: 'template', id: result.id },
        details: { name: template.name, language: template.language, event: `send error ${code}`, from: result.before, to: result.after, reason: null },
      });
    }
  }

  /** A template's quick-reply button texts, as last synced; empty when it has none or is not known. */
  async quickReplyTitles(tenantId: TenantId, channel: Channel, template: { name: string; language: string }): Promise<string[]> {
    const standing = await this.templates.standing(tenantId, channel, template.name, template.language);
    return standing.known ? (standing.template?.quickReplies ?? []).map((reply) => reply.text) : [];
  }

  /**
   * Why a campaign's template cannot be sent on the channel, or null when it can (or the platform
   * cannot tell: a sandbox, or a WABA never synced). Parameters are checked by assertParametersFit.
   */
  async refusal(tenantId: TenantId, channel: Channel, template: { name: string; language: string }): Promise<string | null> {
    const standing = await this.templates.standing(tenantId, channel, template.name, template.language);
    if (!standing.known) return null;
    if (!standing.template) {
      return `Template "${template.name}" (${template.language}) is not among the templates of the channel's WhatsApp Business Account (listed ${standing.known && channel.templatesSyncedAt ? channel.templatesSyncedAt.toISOString() : 'never'}): check its name and language, or sync the templates again (POST /v1/channels/${channel.id}/templates/sync)`;
    }
    if (MessageTemplatesRepository.sendable(standing.template.status)) return null;
    const why = standing.template.reason ? ` (${standing.template.reason})` : '';
    return `Template "${template.name}" (${template.language}) is ${standing.template.status} on WhatsApp${why}: only an APPROVED template can be sent. Choose another one, or sync the templates (POST /v1/channels/${channel.id}/templates/sync) if it has changed`;
  }

  /**
   * A template message's body values must be as many as the template takes, when its components
   * are known (400 naming the field); `field` is the request field that carries them.
   */
  async assertParametersFit(tenantId: TenantId, channel: Channel, template: { name: string; language: string }, given: number, field: string): Promise<void> {
    const standing = await this.templates.standing(tenantId, channel, template.name, template.language);
    const expected = standing.known ? standing.template?.bodyParameterCount : null;
    if (expected === null || expected === undefined || expected === given) return;
    throw new BadRequestError(`${field} has ${given} value(s), but template "${template.name}" (${template.language}) takes ${expected} body parameter(s)`, 'template_parameters');
  }

  /** A fallback template carries the campaign text as its one body parameter (400 otherwise, when known). */
  async assertFallbackFits(tenantId: TenantId, channel: Channel, fallback: FallbackTemplate): Promise<void> {
    const standing = await this.templates.standing(tenantId, channel, fallback.name, fallback.language);
    if (standing.known && !standing.template) {
      throw new BadRequestError(
        `fallbackTemplate "${fallback.name}" (${fallback.language}) is not among the templates of the channel's WhatsApp Business Account: check its name and language, or sync the templates (POST /v1/channels/${channel.id}/templates/sync)`,
        'template_unknown',
      );
    }
    // One WhatsApp will never send again (a review may still approve a pending one, and a paused one comes back).
    if (standing.known && standing.template && UNUSABLE_FOR_GOOD.has(standing.template.status)) {
      throw new BadRequestError(
        `fallbackTemplate "${fallback.name}" (${fallback.language}) is ${standing.template.status} on WhatsApp: only an approved template can carry campaigns; choose another one`,
        'template_not_sendable',
      );
    }
    const expected = standing.known ? standing.template?.bodyParameterCount : null;
    if (expected === null || expected === undefined || expected === 1) return;
    throw new BadRequestError(
      `fallbackTemplate "${fallback.name}" (${fallback.language}) takes ${expected} body parameter(s); a fallback template takes exactly one (it carries the campaign text)`,
      'template_parameters',
    );
  }
}

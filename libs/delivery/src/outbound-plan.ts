import type { OutboundMessage } from '@app/whatsapp';
import { CampaignMessage, pollOptionId } from './campaign-message';

/** WhatsApp's customer service window (whatsapp-cloud-api.md §5). */
export const SERVICE_WINDOW_MS = 24 * 3600 * 1000;

export interface ChannelTraits {
  /** sandbox channels have no window */
  sandbox: boolean;
  /** `parameterNames`: a named-format template's one parameter name, from the synced templates */
  fallbackTemplate: { name: string; language: string; parameterNames?: string[] | null } | null;
}

/** A named-format template's parameter names, when the synced templates know them. */
const named = (names: string[] | null | undefined) => (names?.length ? { parameterNames: names } : {});

export type DeliveryPlan =
  | { send: OutboundMessage; /** counts against Meta's messaging limit (a template outside the window) */ businessInitiated: boolean }
  | { skip: 'outside_window' };

/** The longest body parameter Meta takes in a template (its body is at most 1,024 characters). */
export const MAX_TEMPLATE_PARAMETER_LENGTH = 1024;

/**
 * A campaign text as the one body parameter of the channel's fallback template: Meta refuses a
 * parameter with a line break, a tab or more than four spaces in a row (error 132018), so each run
 * of white space becomes one space (the template's own text keeps its line breaks).
 */
export const asTemplateParameter = (text: string): string => text.replace(/\s+/g, ' ').trim();

export const insideWindow = (lastInboundAt: Date | null, now: Date): boolean =>
  lastInboundAt !== null && now.getTime() - lastInboundAt.getTime() < SERVICE_WINDOW_MS;

/**
 * What to send to one subscriber, by CONTRACT's 24-hour rule: templates reach everyone; free-form
 * messages only inside the window, except a text that the channel's fallback template can carry.
 */
export function planDelivery(campaignId: string, message: CampaignMessage, channel: ChannelTraits, lastInboundAt: Date | null, now: Date): DeliveryPlan {
  if (message.type === 'template') {
    const { name, language, bodyParameters, parameterNames, quickReplies } = message.template;
    // Its quick-reply buttons carry the campaign's answer payloads: their answers count as poll votes.
    const buttons = quickReplies?.length ? { buttonPayloads: quickReplies.map(({ index }, option) => ({ index, payload: pollOptionId(campaignId, option) })) } : {};
    return { send: { type: 'template', name, language, ...(bodyParameters?.length ? { bodyParameters, ...named(parameterNames) } : {}), ...buttons }, businessInitiated: !channel.sandbox };
  }
  if (channel.sandbox || insideWindow(lastInboundAt, now)) return { send: freeForm(campaignId, message), businessInitiated: false };
  if (message.type === 'text' && channel.fallbackTemplate) {
    return {
      send: {
        type: 'template',
        name: channel.fallbackTemplate.name,
        language: channel.fallbackTemplate.language,
        bodyParameters: [asTemplateParameter(message.text)],
        ...named(channel.fallbackTemplate.parameterNames),
      },
      businessInitiated: true,
    };
  }
  return { skip: 'outside_window' };
}

function freeForm(campaignId: string, message: Exclude<CampaignMessage, { type: 'template' }>): OutboundMessage {
  switch (message.type) {
    case 'text':
      return { type: 'text', text: message.text };
    case 'image':
      return { type: 'image', url: message.url, ...(message.caption ? { caption: message.caption } : {}) };
    case 'poll':
      return { type: 'buttons', text: message.text, buttons: message.options.map((title, index) => ({ id: pollOptionId(campaignId, index), title })) };
  }
}

/**
 * Meta's messaging-limit tier as a number of unique business-initiated recipients per rolling
 * 24 h. Unknown or absent tiers are treated as unlimited (the channel record says nothing, so we do
 * not invent a limit; operators set `messaging_limit_tier` when Meta reports one).
 */
export function messagingLimit(tier: string | null | undefined): number {
  if (!tier) return Infinity;
  const normalized = tier.trim().toUpperCase().replace(/^TIER_/, '');
  if (normalized === 'UNLIMITED') return Infinity;
  const match = /^(\d+)(K)?$/.exec(normalized);
  if (!match) return Infinity;
  return Number(match[1]) * (match[2] ? 1000 : 1);
}

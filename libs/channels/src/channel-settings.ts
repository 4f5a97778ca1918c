import { BadRequestError } from '@app/core';
import type { Channel, ChannelSettings } from './channel.entity';

export const DEFAULT_SUBSCRIBE_KEYWORDS = ['ATTIVA ISCRIZIONE'];
export const DEFAULT_UNSUBSCRIBE_KEYWORDS = ['DISATTIVA ISCRIZIONE', 'STOP'];
export const DEFAULT_PRIVACY_NOTICE_VERSION = '1';

export const DEFAULT_WELCOME_TEXT =
  'Benvenuta, benvenuto! Ti sei iscritto al servizio WhatsApp di {comune}: riceverai qui avvisi di protezione civile, ' +
  'allerte meteo, interruzioni di servizi, viabilità e notizie utili. Il canale è solo informativo e nessuno vede il tuo numero. ' +
  'Per cancellarti in qualsiasi momento scrivi {cancellazione}.{privacy}';

export const DEFAULT_GOODBYE_TEXT =
  'Ti sei cancellato dal servizio WhatsApp di {comune}: non riceverai più messaggi. ' +
  'Se cambi idea, scrivi {iscrizione}.';

export const DEFAULT_ALREADY_SUBSCRIBED_TEXT =
  'Sei già iscritto al servizio WhatsApp di {comune}: continuerai a ricevere qui avvisi e notizie. ' +
  'Per cancellarti scrivi {cancellazione}.';

export const DEFAULT_NOT_SUBSCRIBED_TEXT =
  'Non risulti iscritto al servizio WhatsApp di {comune}, quindi non ricevi messaggi da questo numero. ' +
  'Per iscriverti scrivi {iscrizione}.';

export const DEFAULT_AUTO_REPLY_TEXT =
  'Grazie per il messaggio. Questo numero di {comune} serve solo a inviare avvisi e notizie e non legge le risposte. ' +
  'Per segnalazioni e domande rivolgiti all\'Ufficio Relazioni con il Pubblico (URP){contatti}. ' +
  'Per iscriverti scrivi {iscrizione}, per cancellarti {cancellazione}.';

/** The channel's settings with every default filled in. */
export function resolveSettings(channel: Pick<Channel, 'settings'>): ChannelSettings {
  const s = channel.settings ?? {};
  return {
    subscribeKeywords: s.subscribeKeywords?.length ? s.subscribeKeywords : DEFAULT_SUBSCRIBE_KEYWORDS,
    unsubscribeKeywords: s.unsubscribeKeywords?.length ? s.unsubscribeKeywords : DEFAULT_UNSUBSCRIBE_KEYWORDS,
    welcomeText: s.welcomeText ?? DEFAULT_WELCOME_TEXT,
    goodbyeText: s.goodbyeText ?? DEFAULT_GOODBYE_TEXT,
    alreadySubscribedText: s.alreadySubscribedText ?? DEFAULT_ALREADY_SUBSCRIBED_TEXT,
    notSubscribedText: s.notSubscribedText ?? DEFAULT_NOT_SUBSCRIBED_TEXT,
    autoReplyText: s.autoReplyText ?? DEFAULT_AUTO_REPLY_TEXT,
    officeHours: s.officeHours ?? null,
    privacyPolicyUrl: s.privacyPolicyUrl ?? null,
    privacyNoticeVersion: s.privacyNoticeVersion ?? DEFAULT_PRIVACY_NOTICE_VERSION,
    contactInfo: s.contactInfo ?? null,
  };
}

/** Fills a text's placeholders for one comune. */
export function renderChannelText(text: string, settings: ChannelSettings, comuneName: string): string {
  const contatti = [settings.contactInfo ? `: ${settings.contactInfo}` : '', settings.officeHours ? ` (orari: ${settings.officeHours})` : ''].join('');
  return text
    .replaceAll('{comune}', comuneName)
    .replaceAll('{privacy}', settings.privacyPolicyUrl ? ` Informativa privacy: ${settings.privacyPolicyUrl}` : '')
    .replaceAll('{contatti}', contatti)
    .replaceAll('{iscrizione}', settings.subscribeKeywords[0] ?? DEFAULT_SUBSCRIBE_KEYWORDS[0])
    .replaceAll('{cancellazione}', settings.unsubscribeKeywords[0] ?? DEFAULT_UNSUBSCRIBE_KEYWORDS[0]);
}

/** The placeholders renderChannelText fills in. */
export const CHANNEL_TEXT_PLACEHOLDERS = ['{comune}', '{privacy}', '{contatti}', '{iscrizione}', '{cancellazione}'];
const TEXT_SETTINGS = ['welcomeText', 'goodbyeText', 'alreadySubscribedText', 'notSubscribedText', 'autoReplyText'] as const;

/**
 * Refuses settings a channel cannot work with, naming the field: a keyword in both lists (the
 * opt-out one would win, and nobody could subscribe) and a placeholder no text knows (it would
 * reach citizens as written).
 */
export function assertUsableSettings(settings: ChannelSettings): void {
  const unsubscribe = new Set(settings.unsubscribeKeywords.map(normalizeKeyword));
  const both = settings.subscribeKeywords.filter((keyword) => unsubscribe.has(normalizeKeyword(keyword)));
  if (both.length > 0) throw new BadRequestError(`subscribeKeywords and unsubscribeKeywords must not share a keyword: ${both.join(', ')}`);
  for (const field of TEXT_SETTINGS) {
    const unknown = [...new Set(settings[field].match(/\{[^{}\s]{1,40}\}/g) ?? [])].filter((token) => !CHANNEL_TEXT_PLACEHOLDERS.includes(token));
    if (unknown.length > 0) throw new BadRequestError(`${field} has unknown placeholders ${unknown.join(', ')}; known: ${CHANNEL_TEXT_PLACEHOLDERS.join(', ')}`);
  }
}

/**
 * A keyword in comparable form: accents removed, case folded, punctuation and runs of spaces
 * (and underscores, as in quick-reply payloads) collapsed. "  attìva   iscrizione! " → "ATTIVA ISCRIZIONE".
 */
export function normalizeKeyword(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/[_\s]+/g, ' ')
    .replace(/[^\p{L}\p{N} ]+/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export type KeywordMatch = 'subscribe' | 'unsubscribe' | null;

export function matchKeyword(text: string | null | undefined, settings: Pick<ChannelSettings, 'subscribeKeywords' | 'unsubscribeKeywords'>): KeywordMatch {
  if (!text) return null;
  const normalized = normalizeKeyword(text);
  if (!normalized) return null;
  // Unsubscribe first: "DISATTIVA ISCRIZIONE" must never be read as a subscription.
  if (settings.unsubscribeKeywords.some((k) => normalizeKeyword(k) === normalized)) return 'unsubscribe';
  if (settings.subscribeKeywords.some((k) => normalizeKeyword(k) === normalized)) return 'subscribe';
  return null;
}

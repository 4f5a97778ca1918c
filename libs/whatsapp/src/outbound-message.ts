/** A message to send, independent of the provider. */
export type OutboundMessage =
  | { type: 'text'; text: string; previewUrl?: boolean }
  | {
      type: 'template';
      name: string;
      language: string;
      bodyParameters?: string[];
      /** a template of `named` parameter format: the body parameters' names, in the order of bodyParameters */
      parameterNames?: string[];
      /** payloads of the template's quick-reply buttons: `index` is the button's position among the template's buttons */
      buttonPayloads?: { index: number; payload: string }[];
    }
  | { type: 'buttons'; text: string; buttons: { id: string; title: string }[]; header?: string; footer?: string }
  | { type: 'image'; url: string; caption?: string };

export interface SendRequest {
  /** E.164 with '+' */
  to?: string | null;
  /** Meta's business-scoped user id, for citizens known without a phone number */
  recipientUserId?: string | null;
  message: OutboundMessage;
  /** echoed in status webhooks: our delivery reference */
  callbackData?: string;
}

export interface SendResult {
  wamid: string;
  waId: string | null;
  /** template pacing: 'accepted' | 'held_for_quality_assessment' | 'paused' when Meta says so */
  messageStatus: string | null;
}

/** The Graph API body for a send request (whatsapp-cloud-api.md §2). */
export function toGraphPayload(request: SendRequest): Record<string, unknown> {
  const envelope: Record<string, unknown> = { messaging_product: 'whatsapp', recipient_type: 'individual' };
  if (request.to) envelope.to = request.to;
  else if (request.recipientUserId) envelope.recipient = request.recipientUserId;
  if (request.callbackData) envelope.biz_opaque_callback_data = request.callbackData;
  const message = request.message;
  switch (message.type) {
    case 'text':
      return { ...envelope, type: 'text', text: { preview_url: message.previewUrl ?? true, body: message.text } };
    case 'image':
      return { ...envelope, type: 'image', image: { link: message.url, ...(message.caption ? { caption: message.caption } : {}) } };
    case 'buttons':
      return {
        ...envelope,
        type: 'interactive',
        interactive: {
          type: 'button',
          ...(message.header ? { header: { type: 'text', text: message.header } } : {}),
          body: { text: message.text },
          ...(message.footer ? { footer: { text: message.footer } } : {}),
          action: { buttons: message.buttons.map((button) => ({ type: 'reply', reply: { id: button.id, title: button.title } })) },
        },
      };
    case 'template': {
      const components: Record<string, unknown>[] = [];
      if (message.bodyParameters?.length) {
        const names = message.parameterNames;
        components.push({
          type: 'body',
          parameters: message.bodyParameters.map((text, i) => (names?.[i] ? { type: 'text', parameter_name: names[i], text } : { type: 'text', text })),
        });
      }
      for (const { index, payload } of message.buttonPayloads ?? []) {
        components.push({ type: 'button', sub_type: 'quick_reply', index: String(index), parameters: [{ type: 'payload', payload }] });
      }
      return {
        ...envelope,
        type: 'template',
        template: { name: message.name, language: { code: message.language }, ...(components.length ? { components } : {}) },
      };
    }
  }
}

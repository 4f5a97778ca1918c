/**
 * The `biz_opaque_callback_data` of an answer to a citizen (the reply outbox's row), as Meta's
 * status webhooks bring it back; a campaign delivery's is its bare id.
 */
export const replyCallbackData = (id: string): string => `reply:${id}`;

/** The outbox id in a status webhook's callback data, when it names an answer. */
export const REPLY_CALLBACK = /^reply:(\d{1,18})$/;

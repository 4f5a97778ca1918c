const POLL_REPLY = /^poll:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(\d{1,2})$/i;

/** `poll:<campaignId>:<optionIndex>`: the id of a poll's reply buttons and quick-reply payloads. */
export function parsePollReply(id: string | null | undefined): { campaignId: string; optionIndex: number } | null {
  const match = id ? POLL_REPLY.exec(id.trim()) : null;
  return match ? { campaignId: match[1].toLowerCase(), optionIndex: Number(match[2]) } : null;
}

export const pollReplyId = (campaignId: string, optionIndex: number): string => `poll:${campaignId}:${optionIndex}`;

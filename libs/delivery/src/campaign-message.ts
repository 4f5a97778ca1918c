/** What a campaign sends, as stored in campaigns.message (CONTRACT.md "Campaigns"). */
export type CampaignMessage =
  | { type: 'text'; text: string }
  | {
      type: 'template';
      template: {
        name: string;
        language: string;
        bodyParameters?: string[];
        /** never stored: the dispatcher's copy carries a named-format template's parameter names, from the synced templates */
        parameterNames?: string[] | null;
        /** never stored: the dispatcher's copy carries the template's quick-reply buttons (positions among its buttons), from the synced templates */
        quickReplies?: { index: number }[] | null;
      };
    }
  | { type: 'poll'; text: string; options: string[] }
  | { type: 'image'; url: string; caption?: string };

export type CampaignPriority = 'normal' | 'emergency';

/** The reply-button id of a poll option; the inbound side parses the same shape. */
export const pollOptionId = (campaignId: string, optionIndex: number): string => `poll:${campaignId}:${optionIndex}`;

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { Repository } from 'typeorm';
import { BadRequestError, Clock, TenantId } from '@app/core';
import { tenantQuery } from '@app/database';
import { Channel, ChannelProvider } from './channel.entity';
import { ChannelsRepository } from './channels.repository';
import { SandboxMessage } from './sandbox-message.entity';
import { WebhookIngestionService } from './webhook-ingestion.service';

export interface SimulatedInbound {
  /** the simulated citizen's phone (any common form) */
  from: string;
  name?: string;
  text?: string;
  /** id of a reply button (e.g. a poll's `poll:<campaignId>:<n>`) */
  buttonReplyId?: string;
  buttonTitle?: string;
  /** payload of a template quick-reply button */
  quickReplyPayload?: string;
  /** react with this emoji to the message `contextMessageId` */
  reaction?: string;
  /** wamid of the comune's message being answered or reacted to */
  contextMessageId?: string;
}

/**
 * The simulated phone of a sandbox channel: builds a Meta-shaped webhook payload and feeds it to
 * the same ingestion and processing as real webhooks, and shows the conversation both ways.
 */
@Injectable()
export class SandboxService {
  constructor(
    private readonly channels: ChannelsRepository,
    private readonly ingestion: WebhookIngestionService,
    @InjectRepository(SandboxMessage) private readonly messages: Repository<SandboxMessage>,
    private readonly clock: Clock,
  ) {}

  static normalizeContact(value: string): string | null {
    const trimmed = value.trim().replace(/[\s().\-/]/g, '');
    const candidate = trimmed.startsWith('00') ? `+${trimmed.slice(2)}` : /^\d{11,15}$/.test(trimmed) && trimmed.startsWith('39') ? `+${trimmed}` : trimmed;
    const parsed = /^\+?\d{6,17}$/.test(candidate) ? parsePhoneNumberFromString(candidate, 'IT') : undefined;
    return parsed?.isValid() ? parsed.number : null;
  }

  async sandboxChannel(tenantId: TenantId, channelId: string): Promise<Channel> {
    const channel = await this.channels.getById(tenantId, channelId);
    if (channel.provider !== ChannelProvider.Sandbox) throw new BadRequestError('channelId: the simulated phone works only on sandbox channels');
    return channel;
  }

  async simulateInbound(tenantId: TenantId, channelId: string, input: SimulatedInbound): Promise<{ wamid: string; contact: string }> {
    const channel = await this.sandboxChannel(tenantId, channelId);
    const contact = SandboxService.normalizeContact(input.from);
    if (!contact) throw new BadRequestError('from must be a valid phone number');
    const waId = contact.slice(1);
    const wamid = `wamid.sandbox.in.${randomBytes(12).toString('hex')}`;
    const message: Record<string, unknown> = { from: waId, id: wamid, timestamp: String(Math.floor(this.clock.now().getTime() / 1000)) };
    const context = input.contextMessageId ? { context: { from: channel.displayPhoneNumber, id: input.contextMessageId } } : {};
    if (input.reaction !== undefined) {
      if (!input.contextMessageId) throw new BadRequestError('contextMessageId is required with reaction');
      Object.assign(message, { type: 'reaction', reaction: { message_id: input.contextMessageId, emoji: input.reaction } });
    } else if (input.buttonReplyId) {
      Object.assign(message, context, { type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: input.buttonReplyId, title: input.buttonTitle ?? input.buttonReplyId.slice(0, 20) } } });
    } else if (input.quickReplyPayload) {
      Object.assign(message, context, { type: 'button', button: { payload: input.quickReplyPayload, text: input.buttonTitle ?? input.quickReplyPayload } });
    } else if (input.text) {
      Object.assign(message, context, { type: 'text', text: { body: input.text } });
    } else {
      throw new BadRequestError('one of text, buttonReplyId, quickReplyPayload or reaction is required');
    }
    const payload = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: channel.wabaId,
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: channel.displayPhoneNumber, phone_number_id: channel.phoneNumberId },
                contacts: [{ profile: { name: input.name ?? 'Telefono simulato' }, wa_id: waId }],
                messages: [message],
              },
            },
          ],
        },
      ],
    };
    await this.messages.save(this.messages.create({ tenantId: channel.tenantId, channelId: channel.id, direction: 'inbound', contact, providerMessageId: wamid, payload: message }));
    await this.ingestion.receiveTrusted(channel, payload);
    return { wamid, contact };
  }

  async conversation(tenantId: TenantId, channelId: string, contactInput: string, afterId?: string): Promise<SandboxMessage[]> {
    const channel = await this.sandboxChannel(tenantId, channelId);
    const contact = SandboxService.normalizeContact(contactInput) ?? contactInput;
    const qb = tenantQuery(this.messages, tenantId, 'm')
      .andWhere('m.channel_id = :channelId AND m.contact = :contact', { channelId: channel.id, contact })
      .orderBy('m.id', 'ASC')
      .take(500);
    if (afterId && /^\d+$/.test(afterId)) qb.andWhere('m.id > :afterId', { afterId });
    return qb.getMany();
  }

  async contacts(tenantId: TenantId, channelId: string): Promise<{ contact: string; messages: number; lastAt: Date }[]> {
    const channel = await this.sandboxChannel(tenantId, channelId);
    const rows = (await this.messages.query(
      `SELECT contact, count(*)::int AS messages, max(created_at) AS "lastAt" FROM sandbox_messages WHERE tenant_id = $1 AND channel_id = $2 GROUP BY contact ORDER BY max(id) DESC LIMIT 500`,
      [tenantId, channel.id],
    )) as { contact: string; messages: number; lastAt: Date }[];
    return rows;
  }
}

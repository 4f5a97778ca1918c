import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { EntityManager, Repository } from 'typeorm';
import { Clock } from '@app/core';
import { QueueName, QueueProducer } from '@app/queue';
import { DeliveryStatusesJob, SendRequest, SendResult, toGraphPayload, WhatsAppClient } from '@app/whatsapp';
import { Channel, ChannelProvider } from './channel.entity';
import { ChannelSecrets } from './channel-secrets';
import { SandboxMessage } from './sandbox-message.entity';

/** How long after a sandbox send its simulated `sent`/`delivered` statuses are applied. */
const SANDBOX_STATUS_DELAY_MS = 500;

/**
 * Sends one message on a channel, whatever its provider: the Cloud API for `whatsapp_cloud`
 * (errors propagate as GraphApiError), the local store for `sandbox` (wamid `wamid.sandbox.<uuid>`,
 * followed by simulated `sent` and `delivered` statuses on the delivery-statuses queue).
 */
@Injectable()
export class ChannelMessenger {
  constructor(
    private readonly client: WhatsAppClient,
    private readonly secrets: ChannelSecrets,
    @InjectRepository(SandboxMessage) private readonly sandboxMessages: Repository<SandboxMessage>,
    private readonly producer: QueueProducer,
    private readonly clock: Clock,
  ) {}

  /**
   * `manager`: the caller's transaction, when it sends from inside one, so that a sandbox message
   * is stored in that transaction (and never waits on a second connection).
   */
  async send(channel: Channel, request: SendRequest, manager?: EntityManager): Promise<SendResult> {
    if (channel.provider === ChannelProvider.Sandbox) return this.sendToSandbox(channel, request, manager);
    const { accessToken } = this.secrets.open(channel);
    return this.client.send({ phoneNumberId: channel.phoneNumberId, accessToken }, request);
  }

  private async sendToSandbox(channel: Channel, request: SendRequest, manager?: EntityManager): Promise<SendResult> {
    const wamid = `wamid.sandbox.${randomUUID()}`;
    const contact = request.to ?? request.recipientUserId ?? 'unknown';
    const sandboxMessages = manager ? manager.getRepository(SandboxMessage) : this.sandboxMessages;
    await sandboxMessages.save(sandboxMessages.create({
      tenantId: channel.tenantId,
      channelId: channel.id,
      direction: 'outbound',
      contact,
      providerMessageId: wamid,
      payload: toGraphPayload(request),
    }));
    const at = this.clock.now().toISOString();
    const base = { wamid, occurredAt: at, recipientId: request.to?.replace(/^\+/, '') ?? null, recipientUserId: request.recipientUserId ?? null, callbackData: request.callbackData ?? null, errorCode: null, errorTitle: null };
    const job: DeliveryStatusesJob = {
      tenantId: channel.tenantId,
      channelId: channel.id,
      statuses: [
        { ...base, status: 'sent' },
        { ...base, status: 'delivered' },
      ],
    };
    await this.producer.enqueue(QueueName.DeliveryStatuses, { name: 'apply-statuses', data: job, options: { delayMs: SANDBOX_STATUS_DELAY_MS, jobId: `sandbox-status:${wamid}` } });
    return { wamid, waId: request.to ? request.to.replace(/^\+/, '') : null, messageStatus: null };
  }
}

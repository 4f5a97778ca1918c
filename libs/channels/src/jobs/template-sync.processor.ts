import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { QueueName, QueueProducer, QueueTransport } from '@app/queue';
import { MessageTemplatesService } from '../message-templates.service';

export const SYNC_TEMPLATES_JOB = 'sync-templates';
/** How often every comune's template lists are read again from Meta (webhooks keep them current in between). */
export const TEMPLATE_SYNC_EVERY_MS = 6 * 3600 * 1000;

/**
 * The periodic template sync (whatsapp-cloud-api.md §10.9: webhook-driven plus a periodic list),
 * for a webhook Meta did not deliver. One job per period whatever the number of workers (its id
 * names the period), on the maintenance queue.
 */
@Injectable()
export class TemplateSyncProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TemplateSyncProcessor.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly transport: QueueTransport,
    private readonly producer: QueueProducer,
    private readonly templates: MessageTemplatesService,
  ) {}

  onApplicationBootstrap(): void {
    this.transport.process(QueueName.Maintenance, 1, async (job) => {
      if (job.name !== SYNC_TEMPLATES_JOB) return;
      const synced = await this.templates.syncAll();
      this.logger.log(`template lists synced for ${synced} WhatsApp Business Account(s)`);
    });
    const schedule = () =>
      this.producer
        .enqueue(QueueName.Maintenance, { name: SYNC_TEMPLATES_JOB, data: {}, options: { jobId: `${SYNC_TEMPLATES_JOB}:${Math.floor(Date.now() / TEMPLATE_SYNC_EVERY_MS)}`, attempts: 2 } })
        .catch((error: unknown) => this.logger.warn(`could not schedule the template sync: ${String(error)}`));
    void schedule();
    this.timer = setInterval(schedule, TEMPLATE_SYNC_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

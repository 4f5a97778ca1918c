import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, asTenantId, Clock, ConflictError } from '@app/core';
import { STOP_CAMPAIGN_JOB, StopCampaignJob } from '@app/delivery';
import { QueueName, QueueTransport } from '@app/queue';
import { CampaignLauncher, LaunchCampaignJob } from '../campaign-launcher';
import { CampaignsRepository } from '../campaigns.repository';
import { CampaignsService } from '../campaigns.service';

/**
 * Starts scheduled campaigns (and stops those dispatch found cannot go on): a delayed `launch-campaign` job at the campaign's time, and a
 * periodic sweep of campaigns whose time has passed (the job may be lost with Redis, and the
 * clock is the platform's Clock, not Redis's).
 */
@Injectable()
export class CampaignScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CampaignScheduler.name);
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly transport: QueueTransport,
    private readonly config: AppConfig,
    private readonly campaigns: CampaignsRepository,
    private readonly launcher: CampaignLauncher,
    private readonly clock: Clock,
    private readonly service: CampaignsService,
  ) {}

  onApplicationBootstrap(): void {
    this.transport.process<LaunchCampaignJob | StopCampaignJob>(QueueName.Campaigns, 2, (job) =>
      job.name === STOP_CAMPAIGN_JOB ? this.stop(job.data as StopCampaignJob) : this.launchDue(job.data as LaunchCampaignJob),
    );
    this.timer = setInterval(() => void this.sweep(), this.config.delivery.reconcileIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Launches a scheduled campaign if still scheduled and due (a launch is idempotent). */
  async launchDue(job: LaunchCampaignJob): Promise<void> {
    const campaign = await this.campaigns.findById(asTenantId(job.tenantId), job.campaignId);
    if (!campaign || campaign.status !== 'scheduled' || (campaign.scheduledAt && campaign.scheduledAt > this.clock.now())) return;
    try {
      await this.launcher.launch(asTenantId(job.tenantId), job.campaignId, ['scheduled']);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }

  /** Stops a campaign that cannot go on (dispatch saw its template refused), as a cancel with the reason. */
  async stop(job: StopCampaignJob): Promise<void> {
    try {
      await this.service.cancel(asTenantId(job.tenantId), job.campaignId, job.reason);
      this.logger.warn({ tenantId: job.tenantId, campaignId: job.campaignId }, `campaign stopped: ${job.reason}`);
    } catch (error) {
      // Finished or cancelled meanwhile: nothing left to stop.
      if (!(error instanceof ConflictError)) throw error;
    }
  }

  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const due of await this.campaigns.findDue(this.clock.now())) await this.launchDue({ tenantId: due.tenantId, campaignId: due.id });
    } catch (error) {
      this.logger.warn(`scheduled campaign sweep failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}

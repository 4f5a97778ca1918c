import { Module } from '@nestjs/common';
import { ChannelJobsModule } from '@app/channels';
import { SubscribersJobsModule } from '@app/subscribers';
import { CampaignJobsModule } from '@app/campaigns';
import { DeliveryJobsModule } from '@app/delivery';

/**
 * The worker role: queue consumers only, no HTTP server. Each domain's jobs module registers its
 * processors with the queue transport when the application starts.
 */
@Module({
  imports: [SubscribersJobsModule, CampaignJobsModule, DeliveryJobsModule, ChannelJobsModule],
})
export class WorkerModule {}

import { Module } from '@nestjs/common';
import { CampaignsModule } from '../campaigns.module';
import { CampaignScheduler } from './campaign-scheduler';

/** The worker side of campaigns: starting scheduled ones. */
@Module({
  imports: [CampaignsModule],
  providers: [CampaignScheduler],
  exports: [CampaignScheduler],
})
export class CampaignJobsModule {}

import { Module } from '@nestjs/common';
import { CampaignsModule } from '@app/campaigns';
import { CampaignsController } from './campaigns.controller';

@Module({
  imports: [CampaignsModule],
  controllers: [CampaignsController],
})
export class CampaignsHttpModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ChannelsModule } from '@app/channels';
import { DeliveryModule } from '@app/delivery';
import { SubscribersModule } from '@app/subscribers';
import { TenantsModule } from '@app/tenants';
import { Campaign } from './campaign.entity';
import { CampaignLauncher } from './campaign-launcher';
import { CampaignsRepository } from './campaigns.repository';
import { CampaignsService } from './campaigns.service';
import { DeliveriesRepository } from './deliveries.repository';

@Module({
  imports: [TypeOrmModule.forFeature([Campaign]), DeliveryModule, ChannelsModule, SubscribersModule, TenantsModule],
  providers: [CampaignsRepository, DeliveriesRepository, CampaignsService, CampaignLauncher],
  exports: [CampaignsService, CampaignLauncher, CampaignsRepository],
})
export class CampaignsModule {}

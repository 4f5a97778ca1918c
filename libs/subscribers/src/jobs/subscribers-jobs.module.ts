import { Module } from '@nestjs/common';
import { ChannelsModule } from '@app/channels';
import { DeliveryJobsModule } from '@app/delivery';
import { TenantsModule } from '@app/tenants';
import { InboundService } from '../inbound/inbound.service';
import { SubscribersModule } from '../subscribers.module';
import { DeliveryDetailRetention } from './delivery-detail-retention';
import { WebhookEventsProcessor } from './webhook-events.processor';

/** The worker's part of channels and subscribers: webhook events (inbound handling) and their retention. */
@Module({
  // DeliveryJobsModule: answers to citizens take their number's send slots like campaigns do.
  imports: [SubscribersModule, ChannelsModule, TenantsModule, DeliveryJobsModule],
  providers: [InboundService, WebhookEventsProcessor, DeliveryDetailRetention],
  exports: [InboundService],
})
export class SubscribersJobsModule {}

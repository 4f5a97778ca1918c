import { Module } from '@nestjs/common';
import { ChannelsModule } from '@app/channels';
import { OptOutModule, SendThrottleModule } from '@app/delivery';
import { TenantsModule } from '@app/tenants';
import { InboundService } from '../inbound/inbound.service';
import { ReplyOutbox } from '../inbound/reply-outbox';
import { SubscribersModule } from '../subscribers.module';
import { DeliveryDetailRetention } from './delivery-detail-retention';
import { WebhookEventsProcessor } from './webhook-events.processor';

/** The worker's part of channels and subscribers: webhook events (inbound handling, answers to citizens) and their retention. */
@Module({
  // SendThrottleModule: answers to citizens take their number's send slots like campaigns do.
  imports: [SubscribersModule, ChannelsModule, TenantsModule, SendThrottleModule, OptOutModule],
  providers: [InboundService, ReplyOutbox, WebhookEventsProcessor, DeliveryDetailRetention],
  exports: [InboundService],
})
export class SubscribersJobsModule {}

import { Module } from '@nestjs/common';
import { ChannelsModule } from '@app/channels';
import { DeliveryModule } from '@app/delivery';
import { SubscribersModule } from '@app/subscribers';
import { PublicSignupController } from '../public/public-signup.controller';
import { SandboxController } from '../sandbox/sandbox.controller';
import { InboxController } from '../subscribers/inbox.controller';
import { SubscribersController } from '../subscribers/subscribers.controller';
import { TopicsController } from '../topics/topics.controller';
import { WebhooksController } from '../webhooks/webhooks.controller';
import { ChannelsController } from './channels.controller';

/** HTTP for channels, webhooks, the sandbox phone, topics, subscribers, the inbox and the public signup. */
@Module({
  imports: [ChannelsModule, SubscribersModule, DeliveryModule],
  controllers: [ChannelsController, WebhooksController, SandboxController, TopicsController, SubscribersController, InboxController, PublicSignupController],
})
export class ChannelsHttpModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ChannelsModule } from '@app/channels';
import { OptOutModule } from '@app/delivery';
import { TenantsModule } from '@app/tenants';
import { ConsentEvent, SuppressedContact } from './consent-event.entity';
import { ConsentLog } from './consent-log';
import { InboundMessage } from './inbound-message.entity';
import { Subscriber } from './subscriber.entity';
import { SubscribersRepository } from './subscribers.repository';
import { SubscribersService } from './subscribers.service';
import { PublicSignupService } from './signup/public-signup.service';
import { InboundMessagesRepository } from './inbound-messages.repository';
import { SubscriberImportService } from './import/subscriber-import.service';
import { SubscriberTopic, Topic } from './topic.entity';
import { TopicsRepository } from './topics.repository';
import { TopicsService } from './topics.service';

const ENTITIES = [Subscriber, Topic, SubscriberTopic, ConsentEvent, SuppressedContact, InboundMessage];

@Module({
  imports: [TypeOrmModule.forFeature(ENTITIES), ChannelsModule, TenantsModule, OptOutModule],
  providers: [PublicSignupService, InboundMessagesRepository, SubscribersRepository, TopicsRepository, SubscribersService, TopicsService, ConsentLog, SubscriberImportService],
  exports: [PublicSignupService, InboundMessagesRepository, SubscribersRepository, TopicsRepository, SubscribersService, TopicsService, ConsentLog, SubscriberImportService, TypeOrmModule],
})
export class SubscribersModule {}

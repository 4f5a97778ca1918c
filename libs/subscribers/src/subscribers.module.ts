import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ChannelsModule } from '@app/channels';
import { TenantsModule } from '@app/tenants';
import { ConsentEvent, SuppressedContact } from './consent-event.entity';
import { ConsentLog } from './consent-log';
import { InboundMessage } from './inbound-message.entity';
import { Subscriber } from './subscriber.entity';
import { SubscribersRepository } from './subscribers.repository';
import { SubscribersService } from './subscribers.service';
import { SubscriberTopic, Topic } from './topic.entity';
import { TopicsRepository } from './topics.repository';
import { TopicsService } from './topics.service';

const ENTITIES = [Subscriber, Topic, SubscriberTopic, ConsentEvent, SuppressedContact, InboundMessage];

@Module({
  imports: [TypeOrmModule.forFeature(ENTITIES), ChannelsModule, TenantsModule],
  providers: [SubscribersRepository, TopicsRepository, SubscribersService, TopicsService, ConsentLog],
  exports: [SubscribersRepository, TopicsRepository, SubscribersService, TopicsService, ConsentLog, TypeOrmModule],
})
export class SubscribersModule {}

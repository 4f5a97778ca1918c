import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WhatsAppModule } from '@app/whatsapp';
import { Channel } from './channel.entity';
import { ChannelMessenger } from './channel-messenger';
import { ChannelSecrets } from './channel-secrets';
import { ChannelsRepository } from './channels.repository';
import { ChannelsService } from './channels.service';
import { SandboxMessage } from './sandbox-message.entity';
import { WebhookEvent } from './webhook-event.entity';
import { MessageTemplate } from './message-template.entity';
import { MessageTemplatesRepository } from './message-templates.repository';
import { MessageTemplatesService } from './message-templates.service';
import { WebhookIngestionService } from './webhook-ingestion.service';
import { SandboxService } from './sandbox.service';

@Module({
  imports: [TypeOrmModule.forFeature([Channel, SandboxMessage, WebhookEvent, MessageTemplate]), WhatsAppModule],
  providers: [SandboxService, ChannelsRepository, ChannelsService, MessageTemplatesRepository, MessageTemplatesService, ChannelSecrets, ChannelMessenger, WebhookIngestionService],
  exports: [SandboxService, ChannelsRepository, ChannelsService, MessageTemplatesRepository, MessageTemplatesService, ChannelSecrets, ChannelMessenger, WebhookIngestionService, TypeOrmModule],
})
export class ChannelsModule {}

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
import { WebhookIngestionService } from './webhook-ingestion.service';
import { SandboxService } from './sandbox.service';

@Module({
  imports: [TypeOrmModule.forFeature([Channel, SandboxMessage, WebhookEvent]), WhatsAppModule],
  providers: [SandboxService, ChannelsRepository, ChannelsService, ChannelSecrets, ChannelMessenger, WebhookIngestionService],
  exports: [SandboxService, ChannelsRepository, ChannelsService, ChannelSecrets, ChannelMessenger, WebhookIngestionService, TypeOrmModule],
})
export class ChannelsModule {}

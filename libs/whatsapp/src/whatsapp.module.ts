import { Module } from '@nestjs/common';
import { WhatsAppClient } from './whatsapp-client';

@Module({ providers: [WhatsAppClient], exports: [WhatsAppClient] })
export class WhatsAppModule {}

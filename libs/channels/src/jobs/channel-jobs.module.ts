import { Module } from '@nestjs/common';
import { ChannelsModule } from '../channels.module';
import { TemplateSyncProcessor } from './template-sync.processor';

/** The worker side of channels: the periodic template sync. */
@Module({
  imports: [ChannelsModule],
  providers: [TemplateSyncProcessor],
})
export class ChannelJobsModule {}

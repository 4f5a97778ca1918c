import { Module } from '@nestjs/common';
import { SubscribersJobsModule } from '@app/subscribers';

/**
 * The worker role: queue consumers only, no HTTP server. Each domain's jobs module registers its
 * processors with the queue transport when the application starts.
 */
@Module({
  imports: [SubscribersJobsModule],
})
export class WorkerModule {}

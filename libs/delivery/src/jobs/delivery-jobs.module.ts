import { Module } from '@nestjs/common';
import { ChannelsModule } from '@app/channels';
import { CancellationWatch } from '../cancellation-watch';
import { DeliveryModule } from '../delivery.module';
import { OptOutModule } from '../opt-out.module';
import { SendThrottleModule } from '../send-throttle.module';
import { DeliveryReconciler } from './delivery-reconciler';
import { DeliveryStatusesProcessor } from './delivery-statuses.processor';
import { DispatchProcessor } from './dispatch.processor';

/** The worker side of delivery: dispatch, status ingestion, reconciliation. */
@Module({
  imports: [DeliveryModule, ChannelsModule, SendThrottleModule, OptOutModule],
  providers: [CancellationWatch, DispatchProcessor, DeliveryStatusesProcessor, DeliveryReconciler],
  exports: [DeliveryReconciler, DeliveryStatusesProcessor],
})
export class DeliveryJobsModule {}

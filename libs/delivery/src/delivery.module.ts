import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Delivery } from './delivery.entity';
import { DeliveryLedger } from './delivery-ledger';
import { DispatchScheduler } from './dispatch-scheduler';
import { ChannelResumption } from './queued-batches';

/** What producers (campaign launch, cancel) need from the delivery pipeline. */
@Module({
  imports: [TypeOrmModule.forFeature([Delivery])],
  providers: [DeliveryLedger, DispatchScheduler, ChannelResumption],
  exports: [DeliveryLedger, DispatchScheduler, ChannelResumption, TypeOrmModule],
})
export class DeliveryModule {}

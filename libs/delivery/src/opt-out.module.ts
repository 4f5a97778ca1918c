import { Module } from '@nestjs/common';
import { OptOutWatch } from './opt-out-watch';

/** Opt-outs announced to dispatch (one watch per process, shared by whoever imports it). */
@Module({
  providers: [OptOutWatch],
  exports: [OptOutWatch],
})
export class OptOutModule {}

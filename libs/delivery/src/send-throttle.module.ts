import { Module } from '@nestjs/common';
import { ReachLimiter, SendThrottle } from './send-throttle';

/**
 * A number's send rate and Meta's daily reach, shared by whatever sends on a number in this
 * process (campaign dispatch, answers to citizens): one pacer per number, whoever imports it.
 */
@Module({
  providers: [SendThrottle, ReachLimiter],
  exports: [SendThrottle, ReachLimiter],
})
export class SendThrottleModule {}

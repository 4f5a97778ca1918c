import { Module } from '@nestjs/common';
import { AnalyticsModule } from '@app/analytics';
import { AdminHealthController } from '../admin-health/admin-health.controller';
import { QueueBoard } from '../admin-health/queue-board';
import { ConsoleController } from '../console/console.controller';
import { AnalyticsController } from './analytics.controller';

/** Analytics for comuni, the operator's health view and the web console that shows them (HTTP side). */
@Module({
  imports: [AnalyticsModule],
  controllers: [AnalyticsController, AdminHealthController, ConsoleController],
  providers: [QueueBoard],
})
export class AnalyticsHttpModule {}

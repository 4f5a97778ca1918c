import { Module } from '@nestjs/common';
import { AnalyticsModule } from '@app/analytics';
import { AuthModule } from '@app/auth';
import { AdminHealthController } from '../admin-health/admin-health.controller';
import { QueueBoard } from '../admin-health/queue-board';
import { QueueBoardController } from '../admin-health/queue-board.controller';
import { ConsoleController } from '../console/console.controller';
import { AnalyticsController } from './analytics.controller';

/** Analytics for comuni, the operator's health view and the web console that shows them (HTTP side). */
@Module({
  imports: [AnalyticsModule, AuthModule],
  controllers: [AnalyticsController, AdminHealthController, QueueBoardController, ConsoleController],
  providers: [QueueBoard],
})
export class AnalyticsHttpModule {}

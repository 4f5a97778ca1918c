import { Module } from '@nestjs/common';
import { AnalyticsModule } from '@app/analytics';
import { AdminHealthController } from '../admin-health/admin-health.controller';
import { AnalyticsController } from './analytics.controller';

/** Analytics for comuni and the operator's health view (HTTP side). */
@Module({
  imports: [AnalyticsModule],
  controllers: [AnalyticsController, AdminHealthController],
})
export class AnalyticsHttpModule {}

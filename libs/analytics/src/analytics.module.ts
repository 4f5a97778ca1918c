import { Module } from '@nestjs/common';
import { TenantAnalyticsQueries } from './analytics.queries';
import { AnalyticsService } from './analytics.service';
import { OperatorHealthService } from './operator-health.service';
import { QueueDepthMetrics } from './queue-depth.metrics';

/** Read-only analytics for comuni and the operator; the rollups are kept by database triggers. */
@Module({
  providers: [TenantAnalyticsQueries, AnalyticsService, OperatorHealthService, QueueDepthMetrics],
  exports: [AnalyticsService, OperatorHealthService],
})
export class AnalyticsModule {}

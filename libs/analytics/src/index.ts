export * from './analytics.module';
export * from './analytics.queries';
export * from './analytics.service';
export * from './date-range';
export * from './operator-health.service';

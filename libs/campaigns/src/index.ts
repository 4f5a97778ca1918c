export * from './campaign.entity';
export * from './campaign-launcher';
export * from './campaigns.module';
export * from './campaigns.repository';
export * from './campaigns.service';
export * from './deliveries.repository';
export * from './jobs/campaign-jobs.module';
export * from './jobs/campaign-scheduler';

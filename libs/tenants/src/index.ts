export * from './tenant.entity';
export * from './tenants.service';
export * from './tenants.module';

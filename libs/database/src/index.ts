export * from './database.module';
export * from './data-source-options';
export * from './embedded-postgres';
export * from './pagination';
export * from './prepared-statements';
export * from './snake-naming.strategy';
export * from './tenant-scoped.repository';
export * from './tenant-context';

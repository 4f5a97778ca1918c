export * from './fake-graph-api';
export * from './fixtures';
export * from './tenant-session';
export * from './test-app';
export * from './wait-for';

export * from './job';
export * from './queue-names';
export * from './queue-transport';
export * from './queue.module';
export * from './queue.producer';
export * from './redis-check';
export * from './transports/bull.transport';
export * from './transports/in-process.transport';

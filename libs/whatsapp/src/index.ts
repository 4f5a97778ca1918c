export * from './error-policy';
export * from './outbound-message';
export * from './signature';
export * from './template-parameters';
export * from './whatsapp-client';
export * from './whatsapp.module';
export * from './webhook-events';
export * from './webhook-parser';

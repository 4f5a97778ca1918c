export * from './config/app-config';
export * from './config/environment';
export * from './errors/domain-error';
export * from './auth/principal';
export * from './clock';
export * from './core.module';
export * from './crypto/secret-box';
export * from './metrics';

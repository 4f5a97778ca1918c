import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'crypto';
import type { IncomingMessage } from 'http';
import { AppConfig } from './config/app-config';
import { Clock } from './clock';

const STARTUP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory']);

/** Configuration, clock and structured logging for every process. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            genReqId: (req: IncomingMessage) => {
              const header = req.headers['x-request-id'];
              return typeof header === 'string' && header.length > 0 && header.length <= 128 ? header : randomUUID();
            },
            customProps: (req: IncomingMessage & { user?: { tenantId?: string | null } }) => ({
              correlationId: (req as unknown as { id: string }).id,
              tenantId: req.user?.tenantId ?? undefined,
            }),
            redact: {
              paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
              censor: '[redacted]',
            },
            autoLogging: { ignore: (req: IncomingMessage) => req.url === '/health' || req.url === '/metrics' },
            hooks: {
              // Nest's start-up inventory (one line per module and route) is noise in production logs.
              logMethod(args, method, level) {
                const context = (args[0] as { context?: unknown } | undefined)?.context;
                if (level <= 30 && typeof context === 'string' && STARTUP_CONTEXTS.has(context)) return;
                method.apply(this, args);
              },
            },
          },
        }),
      ],
      providers: [{ provide: AppConfig, useValue: config }, Clock],
      exports: [AppConfig, Clock, LoggerModule],
    };
  }
}

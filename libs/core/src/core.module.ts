import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'crypto';
import type { IncomingMessage } from 'http';
import { AppConfig } from './config/app-config';
import { Clock } from './clock';

const STARTUP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory']);

/** Query keys whose values are secrets (Meta's handshake), as the query parser reads them (`hub.verify_token`, `hub.verify_token[]`, ...), in any case to be safe */
const SECRET_QUERY_KEY = /^hub\.verify_token(\[[^\]]*\])*$/i;

const decodedKey = (key: string): string => {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
};

/**
 * A URL as logged: the secrets some carry in their query (Meta's `hub.verify_token`) replaced.
 * Keys are compared decoded, as the query parser takes them (`hub%2Everify_token` is the same key).
 */
export const redactUrlSecrets = (url: string): string => {
  const start = url.indexOf('?');
  if (start < 0) return url;
  const hash = url.indexOf('#', start);
  const end = hash < 0 ? url.length : hash;
  const query = url
    .slice(start + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq >= 0 && SECRET_QUERY_KEY.test(decodedKey(pair.slice(0, eq))) ? `${pair.slice(0, eq)}=[redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, start + 1)}${query}${url.slice(end)}`;
};

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
              paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', 'req.query["hub.verify_token"]'],
              censor: '[redacted]',
            },
            // Meta's webhook handshake carries the channel's verify token in the URL.
            serializers: { req: (req: { url?: unknown }) => Object.assign(req, typeof req.url === 'string' ? { url: redactUrlSecrets(req.url) } : {}) },
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

import { isUtf8 } from 'buffer';
import type { IncomingMessage, ServerResponse } from 'http';
import { INestApplication, ValidationPipe } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { json } from 'express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppConfig, PUBLIC_OPERATION_EXTENSION } from '@app/core';
import { InputSafetyPipe } from './common/input-safety.pipe';
import { mediaType } from './common/media-type';
import { recordHttpMetrics } from './operations/http-metrics';
import { SUBSCRIBERS_IMPORT_PATH } from './subscribers/subscribers.controller';
import { WEBHOOKS_PATH } from './webhooks/webhooks.controller';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Filodiretto API')
    .setDescription(
      'Multi-tenant WhatsApp information service for Italian comuni: channels, subscribers, campaigns, analytics. ' +
        'Authenticate with `Authorization: Bearer <accessToken>` (POST /v1/auth/login) or `X-API-Key`.',
    )
    .setVersion('1.0.0')
    .setLicense('AGPL-3.0-or-later', 'https://www.gnu.org/licenses/agpl-3.0.html')
    .addServer('/', 'This deployment')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
    .addSecurityRequirements('bearer')
    .addSecurityRequirements('api-key')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
  const error = { $ref: '#/components/schemas/ErrorResponseDto' };
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations) as Record<string, unknown>[]) {
      if (!operation || typeof operation !== 'object') continue;
      // Public operations override the document-wide security requirement with none.
      if (operation[PUBLIC_OPERATION_EXTENSION]) {
        delete operation[PUBLIC_OPERATION_EXTENSION];
        operation.security = [];
      }
      // What every operation taking input may answer, whether or not its controller says so.
      const responses = (operation.responses ??= {}) as Record<string, unknown>;
      const takesInput = operation.requestBody !== undefined || ((operation.parameters as unknown[] | undefined)?.length ?? 0) > 0;
      if (takesInput) responses['400'] ??= { description: 'Invalid input; the message names the field', content: { 'application/json': { schema: error } } };
      if (operation.requestBody !== undefined) responses['413'] ??= { description: 'Request body is too large', content: { 'application/json': { schema: error } } };
    }
  }
  return document;
}

/** Everything an HTTP app needs beyond its modules: body parsing, validation, Swagger, logging. */
export function configureHttpApp(app: NestExpressApplication): void {
  app.useLogger(app.get(Logger));
  app.set('trust proxy', app.get(AppConfig).trustProxy);
  app.disable('x-powered-by');
  // Every answer is what its Content-Type says: a browser never sniffs a JSON error or an export into a page.
  app.use((_request: IncomingMessage, response: ServerResponse, next: () => void) => {
    response.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(recordHttpMetrics);
  // Meta's webhooks are read as bytes, whatever their content type: the signature is checked on
  // them before anything is parsed, so a body that is not JSON is refused as unsigned (401), not
  // parsed first and refused as malformed (400). The JSON parser then leaves them alone.
  app.useBodyParser('raw', { type: (request: IncomingMessage) => request.url?.startsWith(`/${WEBHOOKS_PATH}`) ?? false, limit: '4mb' });
  app.use(refuseUnreadableBodies);
  // Read under every name refuseUnreadableBodies lets through (application/json, application/*+json),
  // and only as UTF-8 that is valid: a body is never read as empty, nor stored with its bad bytes replaced.
  // (express's own parser, not app.useBodyParser: with rawBody on, Nest puts its own verify in place of this one.)
  app.use(json({ limit: '4mb', type: (request: IncomingMessage) => JSON_BODY.test(mediaType(request) ?? ''), verify: refuseInvalidUtf8 }));
  app.use(explainUnparsableJson);
  app.useGlobalPipes(
    // First: NUL characters and runaway nesting are refused before the validator walks the input.
    new InputSafetyPipe(),
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
      stopAtFirstError: false,
    }),
  );
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json', customSiteTitle: 'Filodiretto API' });
}

/**
 * The JSON parser's refusals, said plainly. It takes only an object or an array (strict), and
 * says of `null` or `"text"` that they are not valid JSON; a malformed body keeps the parser's
 * account of where it breaks. (Handed on as plain errors: Nest would pass a SyntaxError's own
 * message through.)
 * The other refusals of the body's reading are 400s too, each saying what to send instead.
 */
function explainUnparsableJson(error: unknown, request: IncomingMessage, _response: ServerResponse, next: (error?: unknown) => void): void {
  const failure = error as { type?: unknown; body?: unknown; message?: unknown; code?: unknown } | null;
  const refuse = (message: string) => next(Object.assign(new Error(message), { status: 400 }));
  const encoding = String(request.headers['content-encoding'] ?? '').slice(0, 40);
  if (failure?.type === 'entity.verify.failed') return refuse(String(failure.message));
  if (failure?.type === 'encoding.unsupported') return refuse(`Content-Encoding ${encoding} is not supported: send the body uncompressed, or as gzip, deflate or br`);
  if (typeof failure?.code === 'string' && failure.code.startsWith('Z_')) return refuse(`The request body could not be decompressed as its Content-Encoding (${encoding}) says: ${String(failure.message).slice(0, 100)}`);
  if (failure?.type !== 'entity.parse.failed') return next(error);
  const text = typeof failure.body === 'string' ? failure.body.trimStart() : '';
  const message =
    text !== '' && text[0] !== '{' && text[0] !== '['
      ? 'The request body must be a JSON object'
      : `Malformed JSON in request body: ${String(failure.message).slice(0, 200)}`;
  next(Object.assign(new Error(message), { status: 400 }));
}

/** The JSON parser's check of the bytes it reads (JSON is UTF-8, and so is everything the platform stores). */
function refuseInvalidUtf8(_request: IncomingMessage, _response: ServerResponse, body: Buffer): void {
  if (!isUtf8(body)) throw new Error('The request body is not valid UTF-8: send JSON encoded as UTF-8');
}

/** JSON under its names: the one body type of the API's routes. */
const JSON_BODY = /^application\/(json|[\w.+-]+\+json)$/;
/** The routes that take an upload instead (multipart, the file in a field named file): they check its type themselves. */
const UPLOAD_ROUTES = new Set([`/${SUBSCRIBERS_IMPORT_PATH}`]);

/**
 * A body in a type the route does not read (text/plain, a form encoding, XML, no Content-Type at
 * all) is refused with a 400 that names the type the route wants, instead of being ignored and the
 * request answered as if its fields were missing. Form encodings are not read at all: no page of
 * the platform posts one, and a plain HTML form on any website could post them cross-site (signup,
 * login) without the browser asking first. Webhooks are read raw, whatever their type (their
 * signature is checked first).
 */
function refuseUnreadableBodies(request: IncomingMessage, _response: ServerResponse, next: (error?: unknown) => void): void {
  const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  if (!hasBody || !request.url?.startsWith('/v1/') || request.url.startsWith(`/${WEBHOOKS_PATH}`)) return next();
  // An upload's type is checked by its route, after the credential (multer reads only multipart).
  if (UPLOAD_ROUTES.has(request.url.split('?')[0])) return next();
  const type = mediaType(request);
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (type && JSON_BODY.test(type) && charset !== undefined && !/^utf-8$/i.test(charset)) {
    return next(Object.assign(new Error(`Content-Type charset must be utf-8, not ${charset.slice(0, 40)}`), { status: 400 }));
  }
  if (type && JSON_BODY.test(type)) return next();
  next(Object.assign(new Error(`Content-Type must be application/json${type ? `, not ${type.slice(0, 80)}` : ' (none was given)'}`), { status: 400 }));
}

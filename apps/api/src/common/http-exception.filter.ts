import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { STATUS_CODES } from 'http';
import { QueryFailedError } from 'typeorm';
import { DomainError, ErrorKind } from '@app/core';

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  [ErrorKind.BadRequest]: 400,
  [ErrorKind.Unauthorized]: 401,
  [ErrorKind.Forbidden]: 403,
  [ErrorKind.NotFound]: 404,
  [ErrorKind.Conflict]: 409,
  [ErrorKind.TooManyRequests]: 429,
  [ErrorKind.Unavailable]: 503,
};

/** PostgreSQL errors that mean the input was wrong, not the server. */
const STATUS_BY_SQLSTATE: Record<string, [number, string]> = {
  '23505': [409, 'A resource with the same unique value already exists'],
  '23503': [404, 'A referenced resource does not exist'],
  '22P02': [400, 'A value has the wrong format'],
  '22001': [400, 'A value is too long'],
  '22003': [400, 'A number is out of range'],
  '22007': [400, 'A date or time has the wrong format'],
  '22008': [400, 'A date or time is out of range'],
  '23514': [400, 'A value is not allowed'],
  // A NUL character in text (22021) or a \u0000 escape in jsonb (22P05): no column can hold them.
  '22021': [400, 'A value contains a character that cannot be stored'],
  '22P05': [400, 'A value contains a character that cannot be stored'],
};

/** The unique indexes behind the API's own 409s, by the field they keep unique. */
const FIELD_BY_UNIQUE_INDEX: Record<string, string> = {
  tenants_slug_key: 'slug',
  users_email_key: 'email',
  channels_phone_number_id_key: 'phoneNumberId',
  topics_tenant_key_key: 'key',
  subscribers_channel_phone_key: 'phone on this channel',
  subscribers_channel_user_key: 'userId on this channel',
};

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  code?: string;
}

/**
 * The one place errors become HTTP responses, in the body CONTRACT.md fixes. Every 5xx is logged
 * with the request's correlation id (also returned as `correlationId`).
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request & { id?: string }>();
    if (isHealthCheckFailure(exception)) {
      // Terminus's own body (status, info, error, details) is what monitoring tools read.
      response.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    const body = this.toBody(exception);
    if (body.statusCode >= 500) {
      this.logger.error(
        { err: exception, correlationId: request.id, method: request.method, url: request.originalUrl },
        `Unhandled error ${body.statusCode} on ${request.method} ${request.originalUrl}`,
      );
      Object.assign(body, { correlationId: request.id });
    }
    if (response.headersSent) return;
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainError) {
      const statusCode = STATUS_BY_KIND[exception.kind];
      return { statusCode, error: STATUS_CODES[statusCode]!, message: exception.message, ...(exception.code ? { code: exception.code } : {}) };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'object' && response !== null && 'message' in response
          ? (response as { message: string | string[] }).message
          : exception.message;
      return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
    }
    if (exception instanceof QueryFailedError) {
      const code = (exception as QueryFailedError & { code?: string }).code ?? '';
      // A null for a required column that validation let through (a partial update's field).
      if (code === '23502') {
        const column = (exception as QueryFailedError & { column?: string }).column ?? (exception.driverError as { column?: string } | undefined)?.column;
        return { statusCode: 400, error: 'Bad Request', message: `${column ? camelCase(column) : 'a required value'} must not be null` };
      }
      // Two requests creating the same thing at once: the loser is told which field clashed (by
      // the index: PostgreSQL leaves the key out of the error's detail on row-level-secured tables).
      const field = code === '23505' ? FIELD_BY_UNIQUE_INDEX[(exception as { constraint?: string }).constraint ?? ''] : undefined;
      if (field) return { statusCode: 409, error: 'Conflict', message: `A resource with the same ${field} already exists` };
      const known = STATUS_BY_SQLSTATE[code];
      if (known) return { statusCode: known[0], error: STATUS_CODES[known[0]]!, message: known[1] };
    }
    // Errors raised by Express middleware (body parser: malformed JSON, body too large, ...).
    const status = (exception as { status?: number; statusCode?: number })?.status ?? (exception as { statusCode?: number })?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (exception as { type?: string }).type;
      const message = type === 'entity.too.large' ? 'Request body is too large' : ((exception as Error).message ?? 'Bad request');
      return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    }
    return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, error: 'Internal Server Error', message: 'Internal server error' };
  }
}

function isHealthCheckFailure(exception: unknown): exception is HttpException {
  if (!(exception instanceof HttpException)) return false;
  const body = exception.getResponse();
  return typeof body === 'object' && body !== null && (body as { status?: unknown }).status === 'error' && 'details' in body;
}

/** snake_case column name → the camelCase field name the API uses. */
const camelCase = (column: string): string => column.replace(/_([a-z0-9])/g, (_match, next: string) => next.toUpperCase());


import { ArgumentsHost, BadRequestException, Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { ConflictError, NotFoundError } from '@app/core';
import { HttpExceptionFilter } from './http-exception.filter';

function respond(exception: unknown) {
  const sent: { status?: number; body?: Record<string, unknown> } = {};
  const response = {
    headersSent: false,
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: Record<string, unknown>) {
      sent.body = body;
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({ id: 'corr-1', method: 'GET', originalUrl: '/x' }) }),
  } as unknown as ArgumentsHost;
  new HttpExceptionFilter().catch(exception, host);
  return sent;
}

describe('HttpExceptionFilter', () => {
  it('maps domain errors to their status with the contract body', () => {
    expect(respond(new NotFoundError('Channel'))).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'Channel not found' } });
    expect(respond(new ConflictError('taken')).status).toBe(409);
  });

  it('keeps validation messages as a list', () => {
    const sent = respond(new BadRequestException(['phone must be a valid phone number']));
    expect(sent.body).toEqual({ statusCode: 400, error: 'Bad Request', message: ['phone must be a valid phone number'] });
  });

  it('turns database input errors into 4xx and malformed JSON into 400', () => {
    const unique = Object.assign(new QueryFailedError('insert', [], new Error('dup')), { code: '23505' });
    expect(respond(unique).status).toBe(409);
    // A unique key lost to a concurrent request: named by the field the index keeps unique.
    const key = (constraint: string) => Object.assign(new QueryFailedError('insert', [], new Error('dup')), { code: '23505', constraint });
    expect(respond(key('topics_tenant_key_key')).body).toEqual({ statusCode: 409, error: 'Conflict', message: 'A resource with the same key already exists' });
    expect(respond(key('users_email_key')).body?.message).toBe('A resource with the same email already exists');
    expect(respond(key('some_other_key')).body?.message).toBe('A resource with the same unique value already exists');
    const missing = Object.assign(new QueryFailedError('update', [], new Error('null value in column "quiet_hours_start"')), { code: '23502', column: 'quiet_hours_start' });
    expect(respond(missing).body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'quietHoursStart must not be null' });
    for (const code of ['22021', '22P05']) {
      const nul = Object.assign(new QueryFailedError('insert', [], new Error('invalid byte sequence for encoding "UTF8": 0x00')), { code });
      expect(respond(nul).body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'A value contains a character that cannot be stored' });
    }
    const tooLarge = Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' });
    expect(respond(tooLarge).body).toEqual({ statusCode: 413, error: 'Payload Too Large', message: 'Request body is too large' });
  });

  it('hides an unexpected error behind a 500 that carries the correlation id, and logs it', () => {
    const log = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const sent = respond(new Error('secret internal detail'));
    expect(sent).toEqual({ status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error', correlationId: 'corr-1' } });
    expect(log).toHaveBeenCalledWith(expect.objectContaining({ correlationId: 'corr-1' }), expect.stringContaining('500'));
    log.mockRestore();
  });
});

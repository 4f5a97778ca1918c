import { QueryFailedError } from 'typeorm';
import { isConnectionError } from './delivery-ledger';

describe('isConnectionError', () => {
  it('recognises a lost or refused connection, directly or wrapped by TypeORM', () => {
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    const wrapped = new QueryFailedError('UPDATE deliveries ...', [], Object.assign(new Error('server closed the connection'), { code: '08006' }));
    expect(isConnectionError(wrapped)).toBe(true);
  });

  it('leaves statement errors alone: retrying them cannot help', () => {
    const unique = new QueryFailedError('INSERT ...', [], Object.assign(new Error('duplicate key value'), { code: '23505' }));
    expect(isConnectionError(unique)).toBe(false);
    expect(isConnectionError(new Error('invalid input syntax for type uuid'))).toBe(false);
    expect(isConnectionError(undefined)).toBe(false);
  });
});

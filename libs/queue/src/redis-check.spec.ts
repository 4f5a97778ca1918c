import { createServer } from 'net';
import { ConfigValidationError } from '@app/core';
import { checkRedis } from './redis-check';

describe('checkRedis', () => {
  it('names REDIS_URL in one line, without its password, once nothing has answered for the wait', async () => {
    // A port nothing listens on: taken, then let go.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const started = Date.now();
    const refusal = await checkRedis(`redis://:s3cret@127.0.0.1:${port}`, { waitMs: 600, retryEveryMs: 200 }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConfigValidationError);
    expect((refusal as Error).message).toMatch(new RegExp(`^Invalid configuration: REDIS_URL: no Redis answered at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    expect((refusal as Error).message).not.toContain('s3cret');
    expect((refusal as Error).message).not.toContain('\n');
    // It waited (a Redis still starting is given time), and not much longer than asked.
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });
});

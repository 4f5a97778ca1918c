import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import type { AppConfig } from '@app/core';
import { ErrorDisposition } from './error-policy';
import { GraphApiError, mayHaveReachedMeta, WhatsAppClient } from './whatsapp-client';

/** A Graph API stand-in answering each request with what the test queued. */
async function graphServer(answers: { status: number; body: string }[]): Promise<{ server: Server; url: string; seen: { path: string; auth: string | undefined; body: unknown }[] }> {
  const seen: { path: string; auth: string | undefined; body: unknown }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      const answer = answers.shift() ?? { status: 500, body: '{}' };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const clientFor = (graphUrl: string) => new WhatsAppClient({ whatsapp: { graphUrl, apiVersion: 'v25.0', maxConnections: 4 } } as AppConfig);
const text = { to: '+393471234567', message: { type: 'text' as const, text: 'Allerta meteo' }, callbackData: '42' };

describe('WhatsAppClient', () => {
  const servers: Server[] = [];
  const clients: WhatsAppClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.onModuleDestroy()));
    for (const server of servers) server.close();
  });

  it('posts to {graph}/{version}/{phone number id}/messages with the token and answers the wamid', async () => {
    const graph = await graphServer([{ status: 200, body: JSON.stringify({ messaging_product: 'whatsapp', contacts: [{ input: '+393471234567', wa_id: '393471234567' }], messages: [{ id: 'wamid.ABC' }] }) }]);
    servers.push(graph.server);
    // A Graph URL with a path prefix (a proxy) keeps it.
    const client = clientFor(`${graph.url}/proxy/`);
    clients.push(client);
    await expect(client.send({ phoneNumberId: '1234 5', accessToken: 'tok' }, text)).resolves.toEqual({ wamid: 'wamid.ABC', waId: '393471234567', messageStatus: null });
    expect(graph.seen).toEqual([{ path: '/proxy/v25.0/1234%205/messages', auth: 'Bearer tok', body: expect.objectContaining({ messaging_product: 'whatsapp', to: '+393471234567', biz_opaque_callback_data: '42' }) }]);
  });

  it("turns Meta's error envelope into a GraphApiError with its code and disposition", async () => {
    const graph = await graphServer([
      { status: 400, body: JSON.stringify({ error: { message: '(#130429) Rate limit hit', code: 130429, fbtrace_id: 'Axyz', error_data: { details: 'throughput reached' } } }) },
      { status: 200, body: '{"messages":[]}' },
    ]);
    servers.push(graph.server);
    const client = clientFor(graph.url);
    clients.push(client);
    const limited = await client.send({ phoneNumberId: '1', accessToken: 't' }, text).catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(GraphApiError);
    expect(limited).toMatchObject({ code: 130429, httpStatus: 400, fbtraceId: 'Axyz', details: 'throughput reached', disposition: ErrorDisposition.Retry });
    // A success without a message id is not taken for a send.
    await expect(client.send({ phoneNumberId: '1', accessToken: 't' }, text)).rejects.toMatchObject({ message: 'Graph API answered without a message id', code: null, uncertain: true });
    // An error Meta answered is certain: the message was not created.
    expect(limited).toMatchObject({ uncertain: false });
  });

  it('marks a send whose connection was cut after the request left as of unknown outcome', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(req.url ?? '');
        res.socket?.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const client = clientFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    clients.push(client);
    const error = await client.send({ phoneNumberId: '1', accessToken: 't' }, text).catch((e: unknown) => e);
    expect(seen).toHaveLength(1);
    expect(error).toBeInstanceOf(GraphApiError);
    expect(error).toMatchObject({ code: null, uncertain: true, disposition: ErrorDisposition.Retry });
    expect((error as Error).message).toMatch(/^Graph API answer lost: /);
  });

  it('reports an unreachable Graph API as a retryable error without a code', async () => {
    const graph = await graphServer([]);
    await new Promise<void>((resolve) => graph.server.close(() => resolve()));
    const client = clientFor(graph.url);
    clients.push(client);
    const error = await client.send({ phoneNumberId: '1', accessToken: 't' }, text).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphApiError);
    expect(error).toMatchObject({ code: null, httpStatus: null, disposition: ErrorDisposition.Retry });
    expect((error as Error).message).toMatch(/^Graph API unreachable: /);
    // Refused before anything was sent: certainly not delivered, so it may go again at once.
    expect(error).toMatchObject({ uncertain: false });
  });
});

describe('mayHaveReachedMeta', () => {
  it.each([
    ['ECONNREFUSED', false],
    ['ENOTFOUND', false],
    ['UND_ERR_CONNECT_TIMEOUT', false],
    ['UND_ERR_HEADERS_TIMEOUT', true],
    ['UND_ERR_BODY_TIMEOUT', true],
    ['UND_ERR_SOCKET', true],
    ['ECONNRESET', true],
  ])('%s: %s', (code, expected) => {
    expect(mayHaveReachedMeta(Object.assign(new Error(code), { code }))).toBe(expected);
  });
});

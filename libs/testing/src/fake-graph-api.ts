import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';

export interface RecordedGraphRequest {
  phoneNumberId: string;
  version: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
  wamid: string | null;
  receivedAt: number;
}

export interface GraphReply {
  status: number;
  body: unknown;
}

/** Decides the answer to one send; return null to answer success. */
export type GraphBehaviour = (request: RecordedGraphRequest, attempt: number) => GraphReply | null;

export const graphError = (code: number, status = 400, message = `(#${code}) error`): GraphReply => ({
  status,
  body: { error: { message, type: 'OAuthException', code, error_data: { messaging_product: 'whatsapp', details: message }, fbtrace_id: 'AfakeTrace' } },
});

/**
 * A stand-in for Meta's Graph API on 127.0.0.1: records every send and answers like Meta
 * (success with a fresh wamid, or an error envelope chosen by the test).
 */
export class FakeGraphApi {
  readonly requests: RecordedGraphRequest[] = [];
  private server: Server | null = null;
  private behaviour: GraphBehaviour = () => null;
  private readonly attemptsByRecipient = new Map<string, number>();
  private counter = 0;
  private sentSinceReset = 0;
  /** Connections accepted since the last reset: how many a client really opened. */
  private connectionsSinceReset = 0;
  latencyMs = 0;

  /**
   * `retainBodies: false` keeps only each request's recipient (`body.to`), for benchmarks that
   * record hundreds of thousands of sends: whole bodies would grow the heap and lengthen this
   * server's GC pauses, which bunch its receive times. Behaviours still see the whole body.
   */
  constructor(private readonly options: { retainBodies?: boolean } = {}) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('FakeGraphApi is not started');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Successful sends only. */
  get sent(): RecordedGraphRequest[] {
    return this.requests.filter((r) => r.wamid !== null);
  }

  /** How many sends succeeded since the last reset, without going through them (for polling). */
  get sentCount(): number {
    return this.sentSinceReset;
  }

  /** Connections opened since the last reset (counted per connection, nothing per request). */
  get connectionsOpened(): number {
    return this.connectionsSinceReset;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', () => this.connectionsSinceReset++);
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  behave(behaviour: GraphBehaviour): void {
    this.behaviour = behaviour;
  }

  reset(): void {
    this.requests.length = 0;
    this.sentSinceReset = 0;
    this.connectionsSinceReset = 0;
    this.attemptsByRecipient.clear();
    this.behaviour = () => null;
    this.latencyMs = 0;
  }

  /** Successful sends to one recipient (E.164 or BSUID). */
  sentTo(recipient: string): RecordedGraphRequest[] {
    return this.sent.filter((r) => r.body.to === recipient || r.body.recipient === recipient);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/([^/]+)\/([^/]+)\/messages$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(graphError(100, 404, 'Unknown path').body));
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(graphError(100).body));
        return;
      }
      const recorded: RecordedGraphRequest = {
        version: match[1],
        phoneNumberId: decodeURIComponent(match[2]),
        authorization: req.headers.authorization,
        body,
        wamid: null,
        receivedAt: Date.now(),
      };
      this.requests.push(recorded);
      const recipient = String(body.to ?? body.recipient ?? '');
      const attempt = (this.attemptsByRecipient.get(recipient) ?? 0) + 1;
      this.attemptsByRecipient.set(recipient, attempt);
      const reply = this.behaviour(recorded, attempt);
      if (this.options.retainBodies === false) recorded.body = { to: body.to };
      const answer = () => {
        if (reply) {
          res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
          return;
        }
        recorded.wamid = `wamid.fake.${++this.counter}.${Date.now().toString(36)}`;
        this.sentSinceReset++;
        const digits = recipient.replace(/^\+/, '');
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({ messaging_product: 'whatsapp', contacts: [{ input: recipient, wa_id: digits }], messages: [{ id: recorded.wamid }] }),
        );
      };
      if (this.latencyMs > 0) setTimeout(answer, this.latencyMs);
      else answer();
    });
  }
}

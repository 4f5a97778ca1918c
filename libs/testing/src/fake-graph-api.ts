import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';
import { signBody } from '@app/whatsapp';

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

/**
 * Accepts the message (it counts as sent and gets a wamid) but cuts the connection instead of
 * answering: the answer is lost on its way back, as in a timeout after Meta took the request.
 */
export const ANSWER_LOST: GraphReply = { status: 200, body: null };

/** Where the fake reports its messages' `sent` statuses, as Meta's webhooks do. */
export interface StatusReporting {
  /** the platform's base URL (its webhook route is `/v1/webhooks/whatsapp/{channelId}`) */
  baseUrl: string;
  /** the channel (and its app secret, to sign with) that a phone number id belongs to */
  channelFor: (phoneNumberId: string) => { channelId: string; appSecret: string } | undefined;
  /** how long after accepting a message its status is posted */
  delayMs?: number;
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
  private reporting: StatusReporting | null = null;
  private readonly reportsInFlight = new Set<Promise<void>>();
  /** Status webhooks the platform answered with anything but 200 (or did not answer). */
  readonly statusReportFailures: string[] = [];
  /** Each WABA's message templates, as `GET /<WABA>/message_templates` lists them (Meta's fields). */
  readonly templates = new Map<string, Record<string, unknown>[]>();
  /** Template list requests received (path and query), oldest first. */
  readonly templateListRequests: { wabaId: string; authorization: string | undefined; query: URLSearchParams }[] = [];
  /** When set, the answer to every template list request (an error envelope, say). */
  templateListReply: GraphReply | null = null;

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

  /** From now on, every accepted message gets a signed `sent` status webhook carrying its callback data. */
  reportStatuses(reporting: StatusReporting | null): void {
    this.reporting = reporting;
  }

  /** Resolves once every status webhook posted so far has been answered. */
  async statusReportsSettled(): Promise<void> {
    while (this.reportsInFlight.size > 0) await Promise.allSettled([...this.reportsInFlight]);
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
    this.reporting = null;
    this.statusReportFailures.length = 0;
    this.templates.clear();
    this.templateListRequests.length = 0;
    this.templateListReply = null;
  }

  /**
   * `GET /<version>/<WABA>/message_templates`: the WABA's templates, `limit` per page (Meta's
   * default 25), with Meta's cursor paging (`paging.cursors.after`, and `paging.next` while more
   * follow).
   */
  private listTemplates(req: IncomingMessage, res: ServerResponse, wabaId: string): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.templateListRequests.push({ wabaId, authorization: req.headers.authorization, query: url.searchParams });
    if (this.templateListReply) {
      res.writeHead(this.templateListReply.status, { 'content-type': 'application/json' }).end(JSON.stringify(this.templateListReply.body));
      return;
    }
    const all = this.templates.get(wabaId) ?? [];
    const limit = Math.max(1, Number(url.searchParams.get('limit') ?? 25));
    const start = Number(Buffer.from(url.searchParams.get('after') ?? '', 'base64').toString('utf8') || 0);
    const data = all.slice(start, start + limit);
    const end = start + data.length;
    const cursor = (n: number) => Buffer.from(String(n)).toString('base64');
    const paging: Record<string, unknown> = { cursors: { before: cursor(start), after: cursor(end) } };
    if (end < all.length) paging.next = `${this.url}${url.pathname}?limit=${limit}&after=${cursor(end)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data, paging }));
  }

  /** Successful sends to one recipient (E.164 or BSUID). */
  sentTo(recipient: string): RecordedGraphRequest[] {
    return this.sent.filter((r) => r.body.to === recipient || r.body.recipient === recipient);
  }

  private report(phoneNumberId: string, wamid: string, recipient: string, callbackData: unknown): void {
    const reporting = this.reporting;
    const target = reporting?.channelFor(phoneNumberId);
    if (!reporting || !target) return;
    const status: Record<string, unknown> = { id: wamid, status: 'sent', timestamp: String(Math.floor(Date.now() / 1000)) };
    if (recipient.startsWith('+')) status.recipient_id = recipient.slice(1);
    else status.recipient_user_id = recipient;
    if (typeof callbackData === 'string') status.biz_opaque_callback_data = callbackData;
    const bytes = Buffer.from(
      JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [{ id: 'waba', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '390000000000', phone_number_id: phoneNumberId }, statuses: [status] } }] }],
      }),
    );
    const post = new Promise<void>((resolve) => setTimeout(resolve, reporting.delayMs ?? 0))
      .then(() =>
        fetch(`${reporting.baseUrl}/v1/webhooks/whatsapp/${target.channelId}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(bytes, target.appSecret) },
          body: bytes,
        }),
      )
      .then(async (response) => {
        await response.text();
        if (response.status !== 200) this.statusReportFailures.push(`${wamid}: HTTP ${response.status}`);
      })
      .catch((error: unknown) => void this.statusReportFailures.push(`${wamid}: ${(error as Error).message}`))
      .finally(() => this.reportsInFlight.delete(post));
    this.reportsInFlight.add(post);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const templates = /^\/[^/]+\/([^/?]+)\/message_templates(\?|$)/.exec(req.url ?? '');
      if (req.method === 'GET' && templates) {
        this.listTemplates(req, res, decodeURIComponent(templates[1]));
        return;
      }
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
        if (reply && reply !== ANSWER_LOST) {
          res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
          return;
        }
        recorded.wamid = `wamid.fake.${++this.counter}.${Date.now().toString(36)}`;
        this.sentSinceReset++;
        this.report(recorded.phoneNumberId, recorded.wamid, recipient, body.biz_opaque_callback_data);
        if (reply === ANSWER_LOST) {
          res.socket?.destroy();
          return;
        }
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

import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Agent, request } from 'undici';
import { AppConfig, histogram } from '@app/core';
import { classifyGraphError, ErrorDisposition } from './error-policy';
import { SendRequest, SendResult, toGraphPayload } from './outbound-message';

export interface ChannelCredentials {
  phoneNumberId: string;
  accessToken: string;
}

/** A failed call to the Graph API, with Meta's code when there was one. */
export class GraphApiError extends Error {
  readonly disposition: ErrorDisposition;

  constructor(
    message: string,
    /** Meta's `error.code`; null for network failures, timeouts and bodies without one */
    readonly code: number | null,
    readonly httpStatus: number | null,
    readonly fbtraceId: string | null = null,
    readonly details: string | null = null,
  ) {
    super(message);
    this.name = 'GraphApiError';
    this.disposition = classifyGraphError(code, httpStatus ?? undefined);
  }
}

const providerLatency = histogram({
  name: 'whatsapp_send_duration_seconds',
  help: 'Graph API send call latency by outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

interface GraphErrorBody {
  error?: { message?: string; code?: number; fbtrace_id?: string; error_data?: { details?: string } };
}

interface GraphSuccessBody {
  contacts?: { wa_id?: string }[];
  messages?: { id?: string; message_status?: string }[];
}

/**
 * WhatsApp Cloud API client: `POST {graphUrl}/{version}/{phoneNumberId}/messages` over pooled
 * keep-alive connections, with timeouts. Success yields the wamid; failure a GraphApiError that
 * says whether to retry, give up, or pause the channel.
 */
@Injectable()
export class WhatsAppClient implements OnModuleDestroy {
  /**
   * One pool for every number (they share Meta's origin). Its size bounds the sends in flight,
   * hence the rate at Meta's answer time: 256 connections at 150 ms would cap a worker at 1,700/s.
   */
  private readonly agent: Agent;

  constructor(private readonly config: AppConfig) {
    this.agent = new Agent({ connections: config.whatsapp.maxConnections, keepAliveTimeout: 30_000, pipelining: 1, headersTimeout: 15_000, bodyTimeout: 15_000 });
  }

  async send(credentials: ChannelCredentials, message: SendRequest): Promise<SendResult> {
    const url = `${this.config.whatsapp.graphUrl}/${this.config.whatsapp.apiVersion}/${encodeURIComponent(credentials.phoneNumberId)}/messages`;
    const stop = providerLatency.startTimer();
    let status: number;
    let text: string;
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { authorization: `Bearer ${credentials.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(toGraphPayload(message)),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      stop({ outcome: 'network_error' });
      throw new GraphApiError(`Graph API unreachable: ${(error as Error).message}`, null, null);
    }
    const body = parseJson(text);
    if (status >= 200 && status < 300) {
      const success = body as GraphSuccessBody | null;
      const wamid = success?.messages?.[0]?.id;
      if (!wamid) {
        stop({ outcome: 'invalid_response' });
        throw new GraphApiError('Graph API answered without a message id', null, status);
      }
      stop({ outcome: 'ok' });
      return { wamid, waId: success?.contacts?.[0]?.wa_id ?? null, messageStatus: success?.messages?.[0]?.message_status ?? null };
    }
    const error = (body as GraphErrorBody | null)?.error;
    stop({ outcome: 'error' });
    throw new GraphApiError(
      error?.message ?? `Graph API answered HTTP ${status}`,
      typeof error?.code === 'number' ? error.code : null,
      status,
      error?.fbtrace_id ?? null,
      error?.error_data?.details ?? null,
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

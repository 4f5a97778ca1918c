import { randomBytes } from 'crypto';
import type { DataSource } from 'typeorm';
import { DeliveryStatusesJob, StatusEvent } from '@app/whatsapp';
import { QueueName } from '@app/queue';
import type { TenantSession, TestApp } from '@app/testing';

/** Helpers shared by the campaign, delivery and fault e2e tests. */

export interface ChannelOptions {
  messagesPerSecond?: number;
  fallbackTemplate?: { name: string; language: string };
  provider?: 'whatsapp_cloud' | 'sandbox';
}

export async function createChannel(session: TenantSession, options: ChannelOptions = {}): Promise<{ id: string; phoneNumberId: string; appSecret: string }> {
  const phoneNumberId = `${Date.now()}${randomBytes(3).readUIntBE(0, 3)}`;
  const appSecret = randomBytes(16).toString('hex');
  const response = await session
    .as('post', '/v1/channels')
    .send({
      name: 'WhatsApp del Comune',
      provider: options.provider ?? 'whatsapp_cloud',
      phoneNumberId,
      wabaId: `waba${phoneNumberId}`,
      displayPhoneNumber: '390587123450',
      accessToken: 'EAAG-test-token',
      appSecret,
      verifyToken: 'verify-me',
      messagesPerSecond: options.messagesPerSecond ?? 1000,
      ...(options.fallbackTemplate ? { fallbackTemplate: options.fallbackTemplate } : {}),
    })
    .expect(201);
  return { id: response.body.id, phoneNumberId, appSecret };
}

let phoneSequence = 0;

/** Active subscribers inserted set-based; returns their ids and phones in order. */
export async function seedSubscribers(
  dataSource: DataSource,
  tenantId: string,
  channelId: string,
  count: number,
  options: { lastInboundAt?: Date | null; topicKeys?: string[] } = {},
): Promise<{ id: string; phone: string }[]> {
  const base = 3_000_000 + (phoneSequence += count + 1) + Math.floor(Math.random() * 1_000_000) * 100;
  const rows = (await dataSource.query(
    `INSERT INTO subscribers (tenant_id, channel_id, phone, wa_id, status, consent_source, subscribed_at, last_inbound_at)
     SELECT $1, $2, '+39347' || lpad((($3::bigint + g) % 10000000)::text, 7, '0'), '39347' || lpad((($3::bigint + g) % 10000000)::text, 7, '0'),
            'active', 'api', now(), $5::timestamptz
       FROM generate_series(1, $4::int) g
     RETURNING id, phone`,
    [tenantId, channelId, base, count, options.lastInboundAt === undefined ? new Date() : options.lastInboundAt],
  )) as { id: string; phone: string }[];
  for (const key of options.topicKeys ?? []) {
    await dataSource.query(
      `INSERT INTO topics (tenant_id, key, name) VALUES ($1, $2, $2) ON CONFLICT (tenant_id, key) DO NOTHING`,
      [tenantId, key],
    );
    await dataSource.query(
      `INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id)
       SELECT $1, s, t.id FROM unnest($2::uuid[]) s, topics t WHERE t.tenant_id = $1 AND t.key = $3`,
      [tenantId, rows.map((row) => row.id), key],
    );
  }
  return rows;
}

export async function createCampaign(session: TenantSession, body: Record<string, unknown>): Promise<string> {
  const response = await session.as('post', '/v1/campaigns').send({ title: 'Avviso', ...body }).expect(201);
  return response.body.id as string;
}

export async function campaignOf(session: TenantSession, id: string): Promise<{ status: string; stats: Record<string, number> } & Record<string, unknown>> {
  return (await session.as('get', `/v1/campaigns/${id}`).expect(200)).body;
}

export async function allDeliveries(session: TenantSession, id: string, status?: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `/v1/campaigns/${id}/deliveries?limit=500${status ? `&status=${status}` : ''}${cursor ? `&cursor=${cursor}` : ''}`;
    const page: { body: { data: Record<string, unknown>[]; nextCursor: string | null } } = await session.as('get', query).expect(200);
    rows.push(...page.body.data);
    cursor = page.body.nextCursor;
  } while (cursor);
  return rows;
}

/** Enqueues provider statuses as the webhook ingestion does. */
export async function pushStatuses(testApp: TestApp, tenantId: string, channelId: string, statuses: Partial<StatusEvent>[]): Promise<void> {
  const job: DeliveryStatusesJob = {
    tenantId,
    channelId,
    statuses: statuses.map((status) => ({
      wamid: status.wamid!,
      status: status.status!,
      occurredAt: status.occurredAt ?? new Date().toISOString(),
      recipientId: null,
      recipientUserId: null,
      callbackData: status.callbackData ?? null,
      errorCode: status.errorCode ?? null,
      errorTitle: status.errorTitle ?? null,
    })),
  };
  await testApp.transport.add(QueueName.DeliveryStatuses, { name: 'apply-statuses', data: job });
}

/** A Clock whose time the test sets. */
export class FakeClock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  set(date: Date | string): void {
    this.current = new Date(date);
  }
}

/** No quiet hours for this comune (start = end), so normal campaigns go at once whatever the real time. */
export async function disableQuietHours(session: TenantSession): Promise<void> {
  await session.as('patch', '/v1/tenant').send({ quietHoursStart: '00:00', quietHoursEnd: '00:00' }).expect(200);
}

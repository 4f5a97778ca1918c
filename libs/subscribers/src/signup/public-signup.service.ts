import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { asTenantId, BadRequestError, Clock, DomainError, ErrorKind, NotFoundError } from '@app/core';
import { Channel, ChannelsRepository, resolveSettings } from '@app/channels';
import { Tenant, TenantsService, TenantStatus } from '@app/tenants';
import { ConsentLog } from '../consent-log';
import { ConsentSource, SubscriberStatus } from '../subscriber.entity';
import { SubscribersRepository } from '../subscribers.repository';
import { requirePhone } from '../subscribers.service';
import { Topic } from '../topic.entity';
import { TopicsRepository } from '../topics.repository';

export interface SignupPage {
  tenant: Tenant;
  channels: Channel[];
  topics: Topic[];
}

export interface SignupRequest {
  channelId?: string;
  phone: string;
  name?: string;
  topics?: string[];
  privacyAccepted: boolean;
}

/**
 * Citizens' signup on the comune's web page: a `pending` subscriber, active only once the person
 * confirms by writing the subscribe keyword on WhatsApp (double opt-in). The answer never says
 * whether the number was already known.
 */
@Injectable()
export class PublicSignupService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tenants: TenantsService,
    private readonly channels: ChannelsRepository,
    private readonly topics: TopicsRepository,
    private readonly subscribers: SubscribersRepository,
    private readonly consent: ConsentLog,
    private readonly clock: Clock,
  ) {}

  /**
   * The comune's page: not found once suspended; offering no number (the page says the service is
   * not active yet) while the comune awaits approval, as it could not even send the welcome.
   */
  async page(slug: string): Promise<SignupPage> {
    const tenant = await this.tenants.findBySlug(slug);
    if (!tenant || tenant.status === TenantStatus.Suspended) throw new NotFoundError('Comune');
    const tenantId = asTenantId(tenant.id);
    if (tenant.status !== TenantStatus.Active) return { tenant, channels: [], topics: [] };
    const [channels, topics] = await Promise.all([this.channels.listAllOfTenant(tenantId), this.topics.listAll(tenantId)]);
    return { tenant, channels: channels.filter((c) => c.status === 'active'), topics };
  }

  async request(slug: string, input: SignupRequest): Promise<void> {
    if (input.privacyAccepted !== true) throw new BadRequestError('privacyAccepted must be true: the privacy notice has to be accepted');
    const phone = requirePhone(input.phone);
    const { tenant, channels } = await this.page(slug);
    const tenantId = asTenantId(tenant.id);
    if (tenant.status !== TenantStatus.Active) {
      throw new DomainError(ErrorKind.NotFound, `The WhatsApp service of ${tenant.name} is not active yet: the comune awaits approval`, 'comune_not_active');
    }
    const channel = input.channelId ? channels.find((c) => c.id === input.channelId) : channels[0];
    if (!channel) throw new NotFoundError('Channel');
    const now = this.clock.now();
    await this.dataSource.transaction(async (manager) => {
      const topics = await this.topics.resolveKeys(tenantId, input.topics ?? [], manager);
      let subscriber = await this.subscribers.findByContact(tenantId, channel.id, { phone }, manager);
      // Anyone can fill in the form with anyone's number: a citizen already known (following, or
      // gone) keeps their status, topics and name. The request is recorded, and the topics it asks
      // for become theirs once they confirm on WhatsApp with the subscribe keyword.
      const known = subscriber !== null && subscriber.status !== SubscriberStatus.Pending;
      if (!subscriber) {
        subscriber = await this.subscribers.insert(
          tenantId,
          { channelId: channel.id, phone, waId: phone.slice(1), name: input.name ?? null, status: SubscriberStatus.Pending, consentSource: ConsentSource.WebForm },
          manager,
        );
      } else if (!known && input.name) {
        subscriber.name = input.name;
        await this.subscribers.save(tenantId, subscriber, manager);
      }
      // A pending signup's topics are held with it (it receives nothing until confirmed).
      if (!known) await this.addTopics(manager, tenantId, subscriber.id, topics.map((t) => t.id));
      await this.consent.record(manager, {
        tenantId,
        channelId: channel.id,
        subscriberId: subscriber.id,
        action: 'requested',
        source: ConsentSource.WebForm,
        privacyNoticeVersion: resolveSettings(channel).privacyNoticeVersion,
        details: { privacyAccepted: true, topics: topics.map((t) => t.key) },
        occurredAt: now,
      });
    });
  }

  private async addTopics(manager: import('typeorm').EntityManager, tenantId: string, subscriberId: string, topicIds: string[]): Promise<void> {
    if (!topicIds.length) return;
    await manager.query(
      `INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id) SELECT $1, $2, t FROM unnest($3::uuid[]) AS u(t) ON CONFLICT DO NOTHING`,
      [tenantId, subscriberId, topicIds],
    );
  }
}

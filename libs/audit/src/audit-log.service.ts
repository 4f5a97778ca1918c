import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Principal, TenantId } from '@app/core';
import { Page, PageQueryDto, paginate } from '@app/database';
import { AuditEntry } from './audit-entry.entity';

/** Actions worth a line in the audit log. Values equal their keys in kebab-case... with dots for the domain. */
export enum AuditAction {
  TenantApproved = 'tenant.approved',
  TenantSuspended = 'tenant.suspended',
  TenantSettingsChanged = 'tenant.settings-changed',
  UserCreated = 'user.created',
  UserRoleChanged = 'user.role-changed',
  UserDeleted = 'user.deleted',
  PasswordChanged = 'user.password-changed',
  ApiKeyCreated = 'api-key.created',
  ApiKeyRevoked = 'api-key.revoked',
  ChannelCreated = 'channel.created',
  ChannelCredentialsChanged = 'channel.credentials-changed',
  ChannelDeleted = 'channel.deleted',
  ChannelPaused = 'channel.paused',
  ChannelQualityChanged = 'channel.quality-changed',
  TemplatesSynced = 'templates.synced',
  TemplateStatusChanged = 'template.status-changed',
  SubscriberErased = 'subscriber.erased',
  SubscribersImported = 'subscribers.imported',
  CampaignSent = 'campaign.sent',
  CampaignCancelled = 'campaign.cancelled',
}

export interface AuditRecord {
  tenantId: string | null;
  actor: Principal | { kind: 'system' | 'citizen'; id?: string | null };
  action: AuditAction;
  target?: { type: string; id: string };
  details?: Record<string, unknown>;
}

const NEWEST_FIRST = { column: 'entry.id', property: 'id', descending: true } as const;

/** Append-only: entries are written, listed, never changed. */
@Injectable()
export class AuditLogService {
  constructor(@InjectRepository(AuditEntry) private readonly entries: Repository<AuditEntry>) {}

  async record(record: AuditRecord, manager?: EntityManager): Promise<void> {
    const repository = manager ? manager.getRepository(AuditEntry) : this.entries;
    await repository.insert({
      tenantId: record.tenantId,
      actorKind: record.actor.kind,
      actorId: record.actor.id ?? null,
      action: record.action,
      targetType: record.target?.type ?? null,
      targetId: record.target?.id ?? null,
      details: (record.details ?? null) as QueryDeepPartialEntity<AuditEntry>['details'],
    });
  }

  /** The tenant's own entries, newest first (their ids grow with time). */
  listForTenant(tenantId: TenantId, page: PageQueryDto): Promise<Page<AuditEntry>> {
    const qb = this.entries.createQueryBuilder('entry').where('entry.tenant_id = :tenantId', { tenantId });
    return paginate(qb, page, NEWEST_FIRST);
  }

  /** Every entry (the platform operator), newest first. */
  listAll(page: PageQueryDto): Promise<Page<AuditEntry>> {
    return paginate(this.entries.createQueryBuilder('entry'), page, NEWEST_FIRST);
  }
}

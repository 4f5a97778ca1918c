import { Injectable } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { AuditAction, AuditLogService } from '@app/audit';
import { asTenantId, NotFoundError, Principal, Role, sha256Hex, TenantId } from '@app/core';
import { Page, PageQueryDto } from '@app/database';
import { ApiKey } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';

export interface CreatedApiKey {
  apiKey: ApiKey;
  /** The clear key, returned once and never stored. */
  key: string;
}

const TOUCH_EVERY_MS = 60_000;

@Injectable()
export class ApiKeysService {
  private readonly touchedAt = new Map<string, number>();

  constructor(
    private readonly apiKeys: ApiKeysRepository,
    private readonly audit: AuditLogService,
  ) {}

  async create(tenantId: TenantId, name: string, actor: Principal): Promise<CreatedApiKey> {
    const prefix = randomBytes(4).toString('hex');
    const key = `fd_${prefix}_${randomBytes(24).toString('base64url')}`;
    const apiKey = await this.apiKeys.insert(tenantId, { name, keyPrefix: prefix, keyHash: sha256Hex(key), createdBy: actor.kind === 'user' ? actor.id : null });
    await this.audit.record({ tenantId, actor, action: AuditAction.ApiKeyCreated, target: { type: 'api_key', id: apiKey.id }, details: { name } });
    return { apiKey, key };
  }

  list(tenantId: TenantId, page: PageQueryDto): Promise<Page<ApiKey>> {
    return this.apiKeys.list(tenantId, page, (qb) => qb.andWhere('api_keys.revoked_at IS NULL'));
  }

  async revoke(tenantId: TenantId, id: string, actor: Principal): Promise<void> {
    const apiKey = await this.apiKeys.getById(tenantId, id);
    if (apiKey.revokedAt) throw new NotFoundError('API key');
    apiKey.revokedAt = new Date();
    await this.apiKeys.save(tenantId, apiKey);
    await this.audit.record({ tenantId, actor, action: AuditAction.ApiKeyRevoked, target: { type: 'api_key', id } });
  }

  /** The principal for an `X-API-Key` header, or null when the key is unknown or revoked. */
  async authenticate(key: string): Promise<Principal | null> {
    if (!/^fd_[0-9a-f]{8}_[A-Za-z0-9_-]{32}$/.test(key)) return null;
    const apiKey = await this.apiKeys.findActiveByHash(sha256Hex(key));
    if (!apiKey) return null;
    // last_used_at is minute-grained: this process writes it at most once a minute per key (an
    // UPDATE per request serialised every request of an integration on the key's row lock).
    const now = Date.now();
    if ((this.touchedAt.get(apiKey.id) ?? 0) < now - TOUCH_EVERY_MS) {
      if (this.touchedAt.size > 10_000) this.touchedAt.clear();
      this.touchedAt.set(apiKey.id, now);
      void this.apiKeys.touch(apiKey.id).catch(() => undefined);
    }
    // An integration acts with a tenant admin's rights on data, but cannot manage people or keys.
    return { kind: 'api_key', id: apiKey.id, tenantId: asTenantId(apiKey.tenantId), role: Role.TenantAdmin };
  }
}

import { Injectable } from '@nestjs/common';
import { AppConfig, SecretBox } from '@app/core';
import type { Channel } from './channel.entity';

export interface OpenedSecrets {
  accessToken: string;
  appSecret: string;
  verifyToken: string;
}

const TTL_MS = 60_000;

/**
 * Opens a channel's sealed secrets, caching the plaintext in memory for a short time so that
 * dispatch does not decrypt per message. An entry is keyed by channel id and `updatedAt`, so a
 * changed channel is re-read at once; `invalidate` drops it explicitly (PATCH, DELETE).
 */
@Injectable()
export class ChannelSecrets {
  private readonly box: SecretBox;
  private readonly cache = new Map<string, { version: number; expiresAt: number; secrets: OpenedSecrets }>();

  constructor(config: AppConfig) {
    this.box = new SecretBox(config.encryptionKey, {
      previousKeys: config.encryptionKeyPrevious ? [config.encryptionKeyPrevious] : [],
      digestKey: config.digestKey,
    });
  }

  seal(value: string): string {
    return this.box.seal(value);
  }

  /** Keyed hash (HMAC with the platform key): to look values up without storing them. */
  digest(value: string): string {
    return this.box.digest(value);
  }

  open(channel: Channel): OpenedSecrets {
    const version = channel.updatedAt ? new Date(channel.updatedAt).getTime() : 0;
    const cached = this.cache.get(channel.id);
    const now = Date.now();
    if (cached && cached.version === version && cached.expiresAt > now) return cached.secrets;
    const secrets = {
      accessToken: this.box.open(channel.accessTokenSealed),
      appSecret: this.box.open(channel.appSecretSealed),
      verifyToken: this.box.open(channel.verifyTokenSealed),
    };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(channel.id, { version, expiresAt: now + TTL_MS, secrets });
    return secrets;
  }

  invalidate(channelId: string): void {
    this.cache.delete(channelId);
    for (const listener of this.listeners) listener(channelId);
  }

  private readonly listeners: ((channelId: string) => void)[] = [];

  /** Called with the channel's id whenever its secrets change or it is deleted in this process. */
  onInvalidate(listener: (channelId: string) => void): void {
    this.listeners.push(listener);
  }
}

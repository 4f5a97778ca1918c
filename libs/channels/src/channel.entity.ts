import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export enum ChannelProvider {
  WhatsAppCloud = 'whatsapp_cloud',
  Sandbox = 'sandbox',
}

export interface FallbackTemplate {
  name: string;
  language: string;
}

/**
 * A channel's behaviour towards citizens. Texts may contain `{comune}` (the comune's name),
 * `{privacy}` (privacy-policy link), `{contatti}` (where to send reports and questions) and
 * `{iscrizione}` / `{cancellazione}` (the first subscribe / unsubscribe keyword).
 */
export interface ChannelSettings {
  subscribeKeywords: string[];
  unsubscribeKeywords: string[];
  welcomeText: string;
  goodbyeText: string;
  /** The answer to the subscribe keyword from someone already subscribed */
  alreadySubscribedText: string;
  /** The answer to the unsubscribe keyword from someone not subscribed */
  notSubscribedText: string;
  autoReplyText: string;
  officeHours: string | null;
  privacyPolicyUrl: string | null;
  privacyNoticeVersion: string;
  /** URP, reporting form, e-mail: where citizens go for reports and questions */
  contactInfo: string | null;
}

/** A comune's WhatsApp number (or a sandbox stand-in). Secrets are sealed with SecretBox. */
@Entity('channels')
export class Channel {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') tenantId: string;
  @Column() name: string;
  @Column({ type: 'varchar' }) provider: ChannelProvider;
  @Column() phoneNumberId: string;
  @Column() wabaId: string;
  @Column() displayPhoneNumber: string;
  @Column({ type: 'text' }) accessTokenSealed: string;
  @Column({ type: 'text' }) appSecretSealed: string;
  @Column({ type: 'text' }) verifyTokenSealed: string;
  @Column({ type: 'integer' }) messagesPerSecond: number;
  @Column({ type: 'jsonb', nullable: true }) fallbackTemplate: FallbackTemplate | null;
  @Column({ type: 'jsonb' }) settings: Partial<ChannelSettings>;
  @Column({ type: 'varchar' }) status: 'active' | 'paused';
  @Column({ type: 'varchar', nullable: true }) pausedReason: string | null;
  @Column({ type: 'varchar', nullable: true }) qualityRating: string | null;
  @Column({ type: 'varchar', nullable: true }) messagingLimitTier: string | null;
  /** when its WABA's templates were last listed from Meta; null: never (the list is not known) */
  @Column({ type: 'timestamptz', nullable: true }) templatesSyncedAt: Date | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt: Date;
}

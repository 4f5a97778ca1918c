import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** `withdrawn`: a signup never confirmed, called off (not a departure: it never joined). */
export type ConsentAction = 'requested' | 'subscribed' | 'unsubscribed' | 'withdrawn' | 'erased';

/** Append-only history of every opt-in and opt-out (evidence of consent). */
@Entity('consent_events')
export class ConsentEvent {
  @PrimaryGeneratedColumn('identity', { type: 'bigint' }) id: string;
  @Column('uuid') tenantId: string;
  @Column({ type: 'uuid', nullable: true }) subscriberId: string | null;
  @Column('uuid') channelId: string;
  @Column({ type: 'varchar' }) action: ConsentAction;
  /** keyword, web_form, import, api, admin, user_prefs, ... */
  @Column() source: string;
  /** the inbound wamid that carried the keyword */
  @Column({ type: 'varchar', nullable: true }) messageId: string | null;
  @Column({ type: 'varchar', nullable: true }) privacyNoticeVersion: string | null;
  @Column({ type: 'jsonb', nullable: true }) details: Record<string, unknown> | null;
  @Column({ type: 'timestamptz' }) occurredAt: Date;
}

/** Keyed hash of an erased contact: the opt-out survives the erasure. */
@Entity('suppressed_contacts')
export class SuppressedContact {
  @PrimaryColumn('uuid') tenantId: string;
  @PrimaryColumn('uuid') channelId: string;
  @PrimaryColumn({ type: 'char', length: 64 }) contactHash: string;
  @Column({ type: 'timestamptz', default: () => 'now()' }) createdAt: Date;
}

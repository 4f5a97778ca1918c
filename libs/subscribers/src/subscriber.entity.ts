import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export enum SubscriberStatus {
  Pending = 'pending',
  Active = 'active',
  Unsubscribed = 'unsubscribed',
}

export enum ConsentSource {
  Keyword = 'keyword',
  WebForm = 'web_form',
  Import = 'import',
  Api = 'api',
}

/** A citizen following a channel: by phone (E.164), or by Meta's BSUID when the phone is withheld. */
@Entity('subscribers')
export class Subscriber {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') tenantId: string;
  @Column('uuid') channelId: string;
  @Column({ type: 'varchar', nullable: true }) phone: string | null;
  @Column({ type: 'varchar', nullable: true }) waId: string | null;
  @Column({ type: 'varchar', nullable: true }) userId: string | null;
  @Column({ type: 'varchar', nullable: true }) name: string | null;
  @Column({ type: 'varchar' }) status: SubscriberStatus;
  @Column({ type: 'varchar' }) consentSource: ConsentSource;
  @Column({ type: 'timestamptz', nullable: true }) subscribedAt: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) unsubscribedAt: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) lastInboundAt: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) lastAutoReplyAt: Date | null;
  /** WhatsApp could not reach the number (131026) since then; cleared when a message reaches them or they write */
  @Column({ type: 'timestamptz', nullable: true }) undeliverableSince: Date | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt: Date;
}

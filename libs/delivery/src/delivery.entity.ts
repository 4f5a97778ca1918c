import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { DeliveryStatus } from './delivery-status';

/** One message of a campaign to one subscriber. The id is a bigint (kept as a string in Node). */
@Entity('deliveries')
export class Delivery {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' }) id: string;
  @Column('uuid') tenantId: string;
  @Column('uuid') campaignId: string;
  @Column('uuid') channelId: string;
  @Column({ type: 'uuid', nullable: true }) subscriberId: string | null;
  @Column({ type: 'varchar', nullable: true }) recipient: string | null;
  @Column({ type: 'varchar' }) status: DeliveryStatus;
  @Column({ type: 'varchar' }) kind: string;
  @Column({ type: 'varchar', nullable: true }) reason: string | null;
  @Column({ type: 'varchar', nullable: true }) providerMessageId: string | null;
  /** the wamid of a free-form message Meta reported failed with 131047, replaced by a send as outside the window */
  @Column({ type: 'varchar', nullable: true }) replacedProviderMessageId: string | null;
  /** when Meta said (131047) that the citizen's 24-hour window was closed: planned as outside it until they write */
  @Column({ type: 'timestamptz', nullable: true }) windowClosedAt: Date | null;
  @Column({ type: 'integer', nullable: true }) errorCode: number | null;
  @Column({ type: 'varchar', nullable: true }) errorDetail: string | null;
  @Column({ type: 'integer' }) attempts: number;
  @Column({ type: 'timestamptz', nullable: true }) nextAttemptAt: Date | null;
  /** while a dispatch job holds the delivery: until when (an expired lease may be claimed again) */
  @Column({ type: 'timestamptz', nullable: true }) claimedUntil: Date | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt: Date;
  @Column({ type: 'timestamptz', nullable: true }) sentAt: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) deliveredAt: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) readAt: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) failedAt: Date | null;
}

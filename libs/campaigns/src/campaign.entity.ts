import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { CampaignMessage, CampaignPriority } from '@app/delivery';

export type CampaignStatus = 'draft' | 'scheduled' | 'sending' | 'completed' | 'cancelled' | 'failed';

/** A message a comune sends to (part of) a channel's subscribers. Counters are kept by the delivery ledger. */
@Entity('campaigns')
export class Campaign {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') tenantId: string;
  @Column('uuid') channelId: string;
  @Column() title: string;
  @Column({ type: 'jsonb' }) message: CampaignMessage;
  @Column({ type: 'text', array: true }) topics: string[];
  @Column({ type: 'varchar' }) priority: CampaignPriority;
  @Column({ type: 'varchar' }) status: CampaignStatus;
  @Column({ type: 'timestamptz', nullable: true }) scheduledAt: Date | null;
  @Column({ type: 'uuid', nullable: true }) createdBy: string | null;
  @Column({ type: 'uuid', nullable: true }) sentBy: string | null;
  @Column({ type: 'timestamptz', nullable: true }) startedAt: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) cancelledAt: Date | null;
  @Column({ type: 'varchar', nullable: true }) failureReason: string | null;
  @Column({ type: 'integer' }) recipients: number;
  @Column({ type: 'integer' }) queuedCount: number;
  @Column({ type: 'integer' }) sentCount: number;
  @Column({ type: 'integer' }) deliveredCount: number;
  @Column({ type: 'integer' }) readCount: number;
  @Column({ type: 'integer' }) failedCount: number;
  @Column({ type: 'integer' }) skippedCount: number;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt: Date;
}

import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** What a citizen sent to a channel: keywords, questions, poll answers, reactions. */
@Entity('inbound_messages')
export class InboundMessage {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') tenantId: string;
  @Column('uuid') channelId: string;
  @Column({ type: 'uuid', nullable: true }) subscriberId: string | null;
  @Column() providerMessageId: string;
  @Column() type: string;
  @Column({ type: 'varchar', nullable: true }) fromPhone: string | null;
  @Column({ type: 'varchar', nullable: true }) fromUserId: string | null;
  @Column({ type: 'text', nullable: true }) text: string | null;
  @Column({ type: 'varchar', nullable: true }) contextMessageId: string | null;
  @Column({ type: 'uuid', nullable: true }) campaignId: string | null;
  @Column({ type: 'jsonb' }) payload: Record<string, unknown>;
  /** subscribe, unsubscribe, poll_vote, reaction, auto_reply, question, ... */
  @Column({ type: 'varchar', nullable: true }) handledAs: string | null;
  @Column({ type: 'timestamptz' }) receivedAt: Date;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
}

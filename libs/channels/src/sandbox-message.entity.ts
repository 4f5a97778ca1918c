import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A message of a sandbox channel: what the comune "sent", and what the simulated phone wrote. */
@Entity('sandbox_messages')
export class SandboxMessage {
  @PrimaryGeneratedColumn('identity', { type: 'bigint' }) id: string;
  @Column('uuid') tenantId: string;
  @Column('uuid') channelId: string;
  @Column({ type: 'varchar' }) direction: 'outbound' | 'inbound';
  /** E.164 phone or BSUID of the simulated citizen */
  @Column() contact: string;
  @Column() providerMessageId: string;
  @Column({ type: 'jsonb' }) payload: Record<string, unknown>;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
}

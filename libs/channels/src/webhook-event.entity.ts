import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A raw webhook body as received (after its signature was checked), kept for audit and replay. */
@Entity('webhook_events')
export class WebhookEvent {
  @PrimaryGeneratedColumn('identity', { type: 'bigint' }) id: string;
  @Column({ type: 'uuid', nullable: true }) tenantId: string | null;
  @Column({ type: 'uuid', nullable: true }) channelId: string | null;
  /** the channels whose app secret verified the body: where the event is routed */
  @Column({ type: 'uuid', array: true, nullable: true }) channelIds: string[] | null;
  @Column({ type: 'char', length: 64 }) bodySha256: string;
  @Column({ type: 'jsonb' }) payload: unknown;
  @Column({ type: 'timestamptz' }) receivedAt: Date;
  @Column({ type: 'timestamptz', nullable: true }) processedAt: Date | null;
  @Column({ type: 'varchar', nullable: true }) error: string | null;
  /** the citizens the payload names (WhatsApp ids, user ids): how an erasure finds their events; null before 1796100000000 */
  @Column({ type: 'text', array: true, nullable: true }) contacts: string[] | null;
}

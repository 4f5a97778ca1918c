import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('audit_log')
export class AuditEntry {
  @PrimaryGeneratedColumn('identity', { type: 'bigint' }) id: string;
  /** null for platform-level actions (tenant approved by the operator still names the tenant) */
  @Column({ type: 'uuid', nullable: true }) tenantId: string | null;
  @Column({ type: 'varchar' }) actorKind: 'user' | 'api_key' | 'system' | 'citizen';
  @Column({ type: 'varchar', nullable: true }) actorId: string | null;
  @Column() action: string;
  @Column({ type: 'varchar', nullable: true }) targetType: string | null;
  @Column({ type: 'varchar', nullable: true }) targetId: string | null;
  @Column({ type: 'jsonb', nullable: true }) details: Record<string, unknown> | null;
  @Column({ type: 'timestamptz', default: () => 'now()' }) occurredAt: Date;
}

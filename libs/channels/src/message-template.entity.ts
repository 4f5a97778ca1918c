import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** Template statuses that Meta sends (whatsapp-cloud-api.md §5); only APPROVED can be sent. */
export const TEMPLATE_STATUSES = ['APPROVED', 'PENDING', 'REJECTED', 'PAUSED', 'DISABLED', 'IN_APPEAL', 'PENDING_DELETION', 'DELETED', 'ARCHIVED', 'LIMIT_EXCEEDED'] as const;

export const SENDABLE_TEMPLATE_STATUS = 'APPROVED';

/** One of a WhatsApp Business Account's message templates, as Meta last reported it to the comune. */
@Entity('message_templates')
export class MessageTemplate {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') tenantId: string;
  @Column() wabaId: string;
  @Column() name: string;
  @Column() language: string;
  /** APPROVED, PAUSED, ... (TEMPLATE_STATUSES), or a status Meta added since */
  @Column() status: string;
  @Column({ type: 'varchar', nullable: true }) category: string | null;
  @Column({ type: 'varchar', nullable: true }) providerTemplateId: string | null;
  /** why it is not approved, or what Meta flagged, when Meta says */
  @Column({ type: 'text', nullable: true }) reason: string | null;
  /** how many body values it takes; null when its components are not known (heard of by webhook only) */
  @Column({ type: 'int', nullable: true }) bodyParameterCount: number | null;
  /** a named-format template's parameter names, in order; null for positional ones */
  @Column({ type: 'text', array: true, nullable: true }) bodyParameterNames: string[] | null;
  /** its quick-reply buttons (position among its buttons, text); null when its components are not known */
  @Column({ type: 'jsonb', nullable: true }) quickReplies: { index: number; text: string }[] | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt: Date;
}

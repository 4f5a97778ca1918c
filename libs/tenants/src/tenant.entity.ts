import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export enum TenantStatus {
  Pending = 'pending',
  Active = 'active',
  Suspended = 'suspended',
}

/** A comune. Not tenant-owned: it is the tenant. */
@Entity('tenants')
export class Tenant {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column() name: string;
  @Column() slug: string;
  @Column({ type: 'varchar' }) status: TenantStatus;
  @Column({ type: 'integer', nullable: true }) population: number | null;
  @Column({ type: 'varchar', nullable: true }) istatCode: string | null;
  @Column() timezone: string;
  @Column() quietHoursStart: string;
  @Column() quietHoursEnd: string;
  @Column() monthlyMessageCap: number;
  @Column({ type: 'varchar', nullable: true }) privacyPolicyUrl: string | null;
  @Column({ type: 'timestamptz', nullable: true }) approvedAt: Date | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt: Date;
}

import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Role } from '@app/core';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid') id: string;
  /** null only for the platform operator */
  @Column({ type: 'uuid', nullable: true }) tenantId: string | null;
  @Column() email: string;
  @Column() passwordHash: string;
  @Column({ type: 'varchar' }) role: Role;
  /** address → when the account last logged in from it (the most recent few) */
  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" }) loginAddresses: Record<string, string>;
  /** the session generation access tokens must carry (`ver`): moved on by a password change */
  @Column({ type: 'int', default: 0 }) tokenVersion: number;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt: Date;
}

import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** A subject citizens can follow (protezione civile, viabilità, eventi, ...). */
@Entity('topics')
export class Topic {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') tenantId: string;
  @Column() key: string;
  @Column() name: string;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
}

@Entity('subscriber_topics')
export class SubscriberTopic {
  @PrimaryColumn('uuid') tenantId: string;
  @PrimaryColumn('uuid') subscriberId: string;
  @PrimaryColumn('uuid') topicId: string;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt: Date;
}

import { ApiProperty } from '@nestjs/swagger';
import { AuditEntry } from '@app/audit';

export class AuditEntryDto {
  @ApiProperty() id: string;
  @ApiProperty({ nullable: true, type: String }) tenantId: string | null;
  @ApiProperty({ enum: ['user', 'api_key', 'system', 'citizen'] }) actorKind: string;
  @ApiProperty({ nullable: true, type: String }) actorId: string | null;
  @ApiProperty({ example: 'tenant.approved' }) action: string;
  @ApiProperty({ nullable: true, type: String }) targetType: string | null;
  @ApiProperty({ nullable: true, type: String }) targetId: string | null;
  @ApiProperty({ nullable: true, type: Object }) details: Record<string, unknown> | null;
  @ApiProperty() occurredAt: string;
}

export class AuditEntryListDto {
  @ApiProperty({ type: [AuditEntryDto] }) data: AuditEntryDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export const toAuditEntryResponse = (entry: AuditEntry): AuditEntryDto => ({
  id: String(entry.id),
  tenantId: entry.tenantId,
  actorKind: entry.actorKind,
  actorId: entry.actorId,
  action: entry.action,
  targetType: entry.targetType,
  targetId: entry.targetId,
  details: entry.details,
  occurredAt: entry.occurredAt.toISOString(),
});

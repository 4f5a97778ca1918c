import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditEntry } from './audit-entry.entity';
import { AuditLogService } from './audit-log.service';

/** Global: any domain may record what its users did. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([AuditEntry])],
  providers: [AuditLogService],
  exports: [AuditLogService],
})
export class AuditModule {}

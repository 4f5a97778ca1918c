import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditLogService } from '@app/audit';
import { CurrentTenant, Role, Roles, TenantId } from '@app/core';
import { mapPage, PageQueryDto } from '@app/database';
import { ApiAuthenticated } from '../common/api-responses';
import { AuditEntryListDto, toAuditEntryResponse } from './audit.dto';

@ApiTags('audit')
@Controller('v1')
@ApiAuthenticated()
export class AuditController {
  constructor(private readonly audit: AuditLogService) {}

  @Get('audit-log')
  @Roles(Role.TenantAdmin)
  @ApiOperation({ summary: "Who did what in the comune (people, keys, channels, campaigns, erasures), newest first" })
  @ApiOkResponse({ type: AuditEntryListDto })
  async listOwn(@CurrentTenant() tenantId: TenantId, @Query() page: PageQueryDto): Promise<AuditEntryListDto> {
    return mapPage(await this.audit.listForTenant(tenantId, page), toAuditEntryResponse);
  }

  @Get('admin/audit-log')
  @Roles(Role.PlatformAdmin)
  @ApiOperation({ summary: 'The whole platform audit log (operator), newest first' })
  @ApiOkResponse({ type: AuditEntryListDto })
  async listAll(@Query() page: PageQueryDto): Promise<AuditEntryListDto> {
    return mapPage(await this.audit.listAll(page), toAuditEntryResponse);
  }
}

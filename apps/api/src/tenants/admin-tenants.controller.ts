import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CampaignsService } from '@app/campaigns';
import { asTenantId, CurrentPrincipal, Principal, Role, Roles } from '@app/core';
import { mapPage } from '@app/database';
import { TenantsService, TenantStatus } from '@app/tenants';
import { ApiAuthenticated, ApiNotFound } from '../common/api-responses';
import { IdParam } from '../common/id-param';
import { TenantListDto, TenantListQueryDto, TenantStatusDto, toTenantResponse } from './tenant.dto';

@ApiTags('operator')
@Controller('v1/admin/tenants')
@Roles(Role.PlatformAdmin)
@ApiAuthenticated()
export class AdminTenantsController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly campaigns: CampaignsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every comune on the platform (filter by status to see those awaiting approval)' })
  @ApiOkResponse({ type: TenantListDto })
  async list(@Query() query: TenantListQueryDto): Promise<TenantListDto> {
    return mapPage(await this.tenants.listAll(query, query.status as TenantStatus | undefined), toTenantResponse);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @ApiOperation({ summary: 'Approve a comune: it may send from now on' })
  @ApiOkResponse({ type: TenantStatusDto })
  @ApiNotFound('Tenant')
  async approve(@Param('id', IdParam('Tenant')) id: string, @CurrentPrincipal() actor: Principal): Promise<TenantStatusDto> {
    const tenant = await this.tenants.setStatus(id, TenantStatus.Active, actor);
    return { id: tenant.id, status: tenant.status };
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @ApiOperation({ summary: 'Suspend a comune: it can log in but not send; its campaigns being sent are stopped (cancelled, with the reason)' })
  @ApiOkResponse({ type: TenantStatusDto })
  @ApiNotFound('Tenant')
  async suspend(@Param('id', IdParam('Tenant')) id: string, @CurrentPrincipal() actor: Principal): Promise<TenantStatusDto> {
    const tenant = await this.tenants.setStatus(id, TenantStatus.Suspended, actor);
    // It cannot send (CONTRACT): what it is sending stops now; what it scheduled fails when due.
    await this.campaigns.stopSending(asTenantId(tenant.id), 'The comune was suspended by the platform operator');
    return { id: tenant.id, status: tenant.status };
  }
}

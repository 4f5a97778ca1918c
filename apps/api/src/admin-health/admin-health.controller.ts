import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OperatorHealthService } from '@app/analytics';
import { Role, Roles } from '@app/core';
import { ApiAuthenticated } from '../common/api-responses';
import { AdminHealthDto, toAdminHealthResponse } from './admin-health.dto';

@ApiTags('operator')
@Controller('v1/admin/health')
@Roles(Role.PlatformAdmin)
@ApiAuthenticated()
export class AdminHealthController {
  constructor(private readonly health: OperatorHealthService) {}

  @Get()
  @ApiOperation({ summary: 'Delivery health across the platform: queues, throughput, provider errors, channels, stuck campaigns' })
  @ApiOkResponse({ type: AdminHealthDto })
  async get(): Promise<AdminHealthDto> {
    return toAdminHealthResponse(await this.health.snapshot());
  }
}

import { Body, Controller, Get, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import { SignupService } from '@app/auth';
import { CurrentPrincipal, CurrentTenant, Principal, Public, Role, Roles, TenantId } from '@app/core';
import { TenantsService } from '@app/tenants';
import { ApiAuthenticated, ErrorResponseDto } from '../common/api-responses';
import { AuthThrottlerGuard } from '../common/auth-throttler.guard';
import { SignupDto, SignupResponseDto, TenantDto, toTenantResponse, UpdateTenantSettingsDto } from './tenant.dto';

@ApiTags('tenants')
@Controller('v1')
export class TenantsController {
  constructor(
    private readonly signups: SignupService,
    private readonly tenants: TenantsService,
  ) {}

  @Public()
  @Post('tenants/signup')
  @UseGuards(AuthThrottlerGuard)
  @Throttle({ default: { limit: 60, ttl: 60_000 } })
  @ApiOperation({ summary: 'A comune signs up; it stays pending until the platform operator approves it' })
  @ApiCreatedResponse({ type: SignupResponseDto })
  @ApiConflictResponse({ description: 'Slug or email already registered', type: ErrorResponseDto })
  async signup(@Body() body: SignupDto): Promise<SignupResponseDto> {
    const tenant = await this.signups.signup(body);
    return { id: tenant.id, slug: tenant.slug, name: tenant.name, status: tenant.status };
  }

  @Get('tenant')
  @ApiAuthenticated()
  @ApiOperation({ summary: "The caller's comune and its settings" })
  @ApiOkResponse({ type: TenantDto })
  async get(@CurrentTenant() tenantId: TenantId): Promise<TenantDto> {
    return toTenantResponse(await this.tenants.get(tenantId));
  }

  @Patch('tenant')
  @Roles(Role.TenantAdmin)
  @ApiAuthenticated()
  @ApiOperation({ summary: "Change the comune's settings (quiet hours, monthly cap, timezone, ...)" })
  @ApiOkResponse({ type: TenantDto })
  async update(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() actor: Principal, @Body() body: UpdateTenantSettingsDto): Promise<TenantDto> {
    return toTenantResponse(await this.tenants.updateSettings(tenantId, body, actor));
  }
}

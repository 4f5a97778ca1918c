import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeysService } from '@app/auth';
import { CurrentPrincipal, CurrentTenant, Principal, Role, Roles, TenantId, UsersOnly } from '@app/core';
import { mapPage, PageQueryDto } from '@app/database';
import { ApiAuthenticated, ApiNotFound } from '../common/api-responses';
import { IdParam } from '../common/id-param';
import { ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto, toApiKeyResponse } from './api-key.dto';

@ApiTags('api-keys')
@Controller('v1/api-keys')
@Roles(Role.TenantAdmin)
@UsersOnly()
@ApiAuthenticated()
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key for an integration; the key is shown only in this response' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  async create(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() principal: Principal, @Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const { apiKey, key } = await this.apiKeys.create(tenantId, body.name, principal);
    return { id: apiKey.id, name: apiKey.name, key };
  }

  @Get()
  @ApiOperation({ summary: 'Active API keys (without the keys themselves)' })
  @ApiOkResponse({ type: ApiKeyListDto })
  async list(@CurrentTenant() tenantId: TenantId, @Query() page: PageQueryDto): Promise<ApiKeyListDto> {
    return mapPage(await this.apiKeys.list(tenantId, page), toApiKeyResponse);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key: it stops working at once' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiNotFound('API key')
  async revoke(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() actor: Principal, @Param('id', IdParam('API key')) id: string): Promise<void> {
    await this.apiKeys.revoke(tenantId, id, actor);
  }
}

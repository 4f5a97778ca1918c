import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { UsersService } from '@app/auth';
import { CurrentPrincipal, CurrentTenant, Principal, Role, Roles, TenantId, UsersOnly } from '@app/core';
import { mapPage, PageQueryDto } from '@app/database';
import { ApiAuthenticated, ApiNotFound, ErrorResponseDto } from '../common/api-responses';
import { IdParam } from '../common/id-param';
import { CreateUserDto, toUserResponse, UpdateUserDto, UserDto, UserListDto } from './user.dto';

@ApiTags('users')
@Controller('v1/users')
@Roles(Role.TenantAdmin)
@UsersOnly()
@ApiAuthenticated()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Add a person to the comune: tenant_admin, editor (drafts campaigns, manages subscribers) or viewer (reads)' })
  @ApiCreatedResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'Email already registered', type: ErrorResponseDto })
  async create(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() actor: Principal, @Body() body: CreateUserDto): Promise<UserDto> {
    return toUserResponse(await this.users.create(tenantId, body.email, body.password, body.role, actor));
  }

  @Get()
  @ApiOperation({ summary: "The comune's people" })
  @ApiOkResponse({ type: UserListDto })
  async list(@CurrentTenant() tenantId: TenantId, @Query() page: PageQueryDto): Promise<UserListDto> {
    return mapPage(await this.users.list(tenantId, page), toUserResponse);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One person of the comune' })
  @ApiOkResponse({ type: UserDto })
  @ApiNotFound('User')
  async get(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('User')) id: string): Promise<UserDto> {
    return toUserResponse(await this.users.get(tenantId, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: "Change a person's role" })
  @ApiOkResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'The comune\'s last tenant admin cannot lose the role (code last_tenant_admin)', type: ErrorResponseDto })
  @ApiNotFound('User')
  async update(
    @CurrentTenant() tenantId: TenantId,
    @CurrentPrincipal() actor: Principal,
    @Param('id', IdParam('User')) id: string,
    @Body() body: UpdateUserDto,
  ): Promise<UserDto> {
    return toUserResponse(await this.users.changeRole(tenantId, id, body.role, actor));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a person from the comune' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiConflictResponse({ description: 'Your own account, or the comune\'s last tenant admin', type: ErrorResponseDto })
  @ApiNotFound('User')
  async remove(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() principal: Principal, @Param('id', IdParam('User')) id: string): Promise<void> {
    await this.users.remove(tenantId, id, principal);
  }
}

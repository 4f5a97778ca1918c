import { Body, Controller, Get, HttpCode, Ip, Post, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import { AuthService } from '@app/auth';
import { CurrentPrincipal, Principal, Public, Role, Roles, UsersOnly } from '@app/core';
import { ApiAuthenticated, ErrorResponseDto } from '../common/api-responses';
import { AuthThrottlerGuard, loginAccount } from '../common/auth-throttler.guard';
import { ChangePasswordDto, LoginDto, MeDto, RefreshDto, TokenPairDto } from './auth.dto';

@ApiTags('auth')
@Controller('v1/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @UseGuards(AuthThrottlerGuard)
  // 20 a minute per address and account; 100 an hour per account from anywhere but the addresses it logged in from lately.
  @Throttle({ default: { limit: 20, ttl: 60_000 }, account: { limit: 100, ttl: 3_600_000, getTracker: loginAccount } })
  @ApiOperation({ summary: 'Log in with email and password' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({ description: 'Wrong email or password', type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({ description: 'Too many attempts', type: ErrorResponseDto })
  login(@Body() body: LoginDto, @Ip() address: string): Promise<TokenPairDto> {
    return this.auth.login(body.email, body.password, address);
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @UseGuards(AuthThrottlerGuard)
  @Throttle({ default: { limit: 60, ttl: 60_000 } })
  @ApiOperation({ summary: 'Exchange a refresh token for a new pair (the old one stops working)' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({ description: 'Unknown, used or expired refresh token', type: ErrorResponseDto })
  refresh(@Body() body: RefreshDto): Promise<TokenPairDto> {
    return this.auth.refresh(body.refreshToken);
  }

  @Public()
  @Post('logout')
  @HttpCode(204)
  @UseGuards(AuthThrottlerGuard)
  @Throttle({ default: { limit: 60, ttl: 60_000 } })
  @ApiOperation({ summary: 'End a session: its refresh token stops working (its access token lasts until it expires, at most JWT_ACCESS_TTL_SECONDS)' })
  @ApiNoContentResponse({ description: 'The session is ended (also when the token was unknown or spent already)' })
  async logout(@Body() body: RefreshDto): Promise<void> {
    await this.auth.logout(body.refreshToken);
  }

  @Post('password')
  @HttpCode(200)
  @ApiAuthenticated()
  @UsersOnly()
  // Every member changes their own password, viewers too.
  @Roles(Role.PlatformAdmin, Role.TenantAdmin, Role.Editor, Role.Viewer)
  @UseGuards(AuthThrottlerGuard)
  @Throttle({ default: { limit: 10, ttl: 60_000 } })
  @ApiOperation({ summary: "Change one's own password: every session of the account ends (tokens issued before stop working); answers a new pair for this one" })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiBadRequestResponse({ description: 'currentPassword is wrong (wrong_password), or newPassword too weak or the same', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'An API key has no password', type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({ description: 'Too many attempts', type: ErrorResponseDto })
  changePassword(@CurrentPrincipal() principal: Principal, @Body() body: ChangePasswordDto): Promise<TokenPairDto> {
    return this.auth.changePassword(principal, body.currentPassword, body.newPassword);
  }

  @Get('me')
  @ApiAuthenticated()
  @ApiOperation({ summary: 'Who the credential belongs to' })
  @ApiOkResponse({ type: MeDto })
  me(@CurrentPrincipal() principal: Principal): MeDto {
    return { kind: principal.kind, id: principal.id, tenantId: principal.tenantId, role: principal.role, email: principal.email };
  }
}

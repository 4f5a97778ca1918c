import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsIn, IsInt, IsOptional, IsString, IsTimeZone, IsUrl, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { PageQueryDto } from '@app/database';
import { Tenant } from '@app/tenants';
import { IsOmittable } from '../common/is-omittable';
import { NewPassword, NotBlank } from '../common/not-blank';

export class SignupDto {
  @ApiProperty({ example: 'Comune di Valdoria' })
  @IsString() @MinLength(2) @MaxLength(200) @NotBlank()
  name: string;

  @ApiProperty({ example: 'valdoria', description: 'lowercase letters, digits and hyphens; used in the public page /c/{slug}' })
  @IsString() @Matches(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, { message: 'slug must be lowercase letters, digits and hyphens (1-63)' })
  slug: string;

  @ApiProperty({ example: 'urp@comune.valdoria.it' })
  @IsEmail() @MaxLength(320)
  adminEmail: string;

  @ApiProperty({ example: 'una-password-lunga', minLength: 10 })
  @NewPassword()
  adminPassword: string;

  @ApiPropertyOptional({ example: 48000 })
  @IsOptional() @IsInt() @Min(1) @Max(10_000_000)
  population?: number;

  @ApiPropertyOptional({ example: '048014', description: 'ISTAT code of the comune (6 digits)' })
  @IsOptional() @Matches(/^\d{6}$/, { message: 'istatCode must be 6 digits' })
  istatCode?: string;
}

export class SignupResponseDto {
  @ApiProperty() id: string;
  @ApiProperty() slug: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['pending'] }) status: string;
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

export class UpdateTenantSettingsDto {
  @ApiPropertyOptional() @IsOmittable() @IsString() @MinLength(2) @MaxLength(200) @NotBlank()
  name?: string;

  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsInt() @Min(1) @Max(10_000_000)
  population?: number | null;

  @ApiPropertyOptional() @IsOptional() @Matches(/^\d{6}$/, { message: 'istatCode must be 6 digits' })
  istatCode?: string;

  @ApiPropertyOptional({ example: 'Europe/Rome' }) @IsOmittable() @Transform(canonicalTimeZone) @IsTimeZone()
  timezone?: string;

  @ApiPropertyOptional({ example: '21:00' }) @IsOmittable() @Matches(TIME, { message: 'quietHoursStart must be HH:MM' })
  quietHoursStart?: string;

  @ApiPropertyOptional({ example: '08:00' }) @IsOmittable() @Matches(TIME, { message: 'quietHoursEnd must be HH:MM' })
  quietHoursEnd?: string;

  @ApiPropertyOptional({ example: 5, description: 'Messages a subscriber may receive per month (emergencies excluded)' })
  @IsOmittable() @IsInt() @Min(1) @Max(1000)
  monthlyMessageCap?: number;

  @ApiPropertyOptional() @IsOptional() @IsUrl({ require_protocol: true, protocols: ['http', 'https'] }) @MaxLength(2048)
  privacyPolicyUrl?: string;
}

export class TenantDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() slug: string;
  @ApiProperty({ enum: ['pending', 'active', 'suspended'] }) status: string;
  @ApiProperty({ nullable: true, type: Number }) population: number | null;
  @ApiProperty({ nullable: true, type: String }) istatCode: string | null;
  @ApiProperty() timezone: string;
  @ApiProperty() quietHoursStart: string;
  @ApiProperty() quietHoursEnd: string;
  @ApiProperty() monthlyMessageCap: number;
  @ApiProperty({ nullable: true, type: String }) privacyPolicyUrl: string | null;
  @ApiProperty() createdAt: string;
}

export const toTenantResponse = (tenant: Tenant): TenantDto => ({
  id: tenant.id,
  name: tenant.name,
  slug: tenant.slug,
  status: tenant.status,
  population: tenant.population,
  istatCode: tenant.istatCode,
  timezone: tenant.timezone,
  quietHoursStart: tenant.quietHoursStart,
  quietHoursEnd: tenant.quietHoursEnd,
  monthlyMessageCap: tenant.monthlyMessageCap,
  privacyPolicyUrl: tenant.privacyPolicyUrl,
  createdAt: tenant.createdAt.toISOString(),
});

export class TenantListDto {
  @ApiProperty({ type: [TenantDto] }) data: TenantDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class TenantStatusDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['active', 'suspended'] }) status: string;
}

export class TenantListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['pending', 'active', 'suspended'] })
  @IsOptional() @IsIn(['pending', 'active', 'suspended'])
  status?: 'pending' | 'active' | 'suspended';
}

/** A time zone as IANA spells it ('europe/rome' is stored as Europe/Rome); anything else is left for @IsTimeZone to refuse. */
function canonicalTimeZone({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return value;
  }
}

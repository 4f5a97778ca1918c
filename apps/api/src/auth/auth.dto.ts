import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';
import { NewPassword } from '../common/not-blank';

export class LoginDto {
  @ApiProperty({ example: 'urp@comune.valdoria.it' })
  @IsEmail() @MaxLength(320)
  email: string;

  @ApiProperty({ example: 'una-password-lunga' })
  @IsString() @MinLength(1) @MaxLength(200)
  password: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refreshToken of the last pair' })
  // Long enough for any credential sent by mistake (an access token is a JWT of ~300 characters):
  // a wrong token is 401, like every invalid credential, not 400.
  @IsString() @MinLength(1) @MaxLength(4096)
  refreshToken: string;
}

export class ChangePasswordDto {
  @ApiProperty({ description: "The account's password now" })
  @IsString() @MinLength(1) @MaxLength(200)
  currentPassword: string;

  @ApiProperty({ description: '10 to 200 characters, at least 4 different ones', example: 'una-password-nuova' })
  @NewPassword()
  newPassword: string;
}

export class TokenPairDto {
  @ApiProperty({ description: 'JWT for `Authorization: Bearer`' }) accessToken: string;
  @ApiProperty({ description: 'Opaque token for POST /v1/auth/refresh; single use' }) refreshToken: string;
  @ApiProperty({ description: 'Seconds until the access token expires', example: 900 }) expiresIn: number;
}

export class MeDto {
  @ApiProperty({ enum: ['user', 'api_key'] }) kind: string;
  @ApiProperty() id: string;
  @ApiProperty({ nullable: true, type: String }) tenantId: string | null;
  @ApiProperty({ enum: ['platform_admin', 'tenant_admin', 'editor', 'viewer'] }) role: string;
  @ApiProperty({ required: false }) email?: string;
}

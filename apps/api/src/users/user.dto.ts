import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsIn, MaxLength } from 'class-validator';
import { User } from '@app/auth';
import { TENANT_ROLES, TenantRole } from '@app/core';
import { NewPassword } from '../common/not-blank';

export class CreateUserDto {
  @ApiProperty({ example: 'redazione@comune.valdoria.it' })
  @IsEmail() @MaxLength(320)
  email: string;

  @ApiProperty({ minLength: 10 })
  @NewPassword()
  password: string;

  @ApiProperty({ enum: TENANT_ROLES })
  @IsIn(TENANT_ROLES)
  role: TenantRole;
}

export class UpdateUserDto {
  @ApiProperty({ enum: TENANT_ROLES })
  @IsIn(TENANT_ROLES)
  role: TenantRole;
}

export class UserDto {
  @ApiProperty() id: string;
  @ApiProperty() email: string;
  @ApiProperty({ enum: TENANT_ROLES }) role: string;
  @ApiProperty() createdAt: string;
}

export class UserListDto {
  @ApiProperty({ type: [UserDto] }) data: UserDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export const toUserResponse = (user: User): UserDto => ({ id: user.id, email: user.email, role: user.role, createdAt: user.createdAt.toISOString() });

import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@app/core';
import { TenantsModule } from '@app/tenants';
import { ApiKey } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { AuthService } from './auth.service';
import { JwtStrategy } from './jwt.strategy';
import { PasswordHasher } from './password-hasher';
import { PlatformAdminBootstrap } from './platform-admin.bootstrap';
import { RefreshToken } from './refresh-token.entity';
import { SignupService } from './signup.service';
import { User } from './user.entity';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([User, RefreshToken, ApiKey]),
    PassportModule,
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ secret: config.jwt.secret, signOptions: { algorithm: 'HS256' } }),
    }),
    TenantsModule,
  ],
  providers: [
    PasswordHasher,
    UsersRepository,
    ApiKeysRepository,
    AuthService,
    ApiKeysService,
    UsersService,
    SignupService,
    JwtStrategy,
    PlatformAdminBootstrap,
  ],
  exports: [AuthService, ApiKeysService, UsersService, SignupService, PlatformAdminBootstrap, PasswordHasher],
})
export class AuthModule {}

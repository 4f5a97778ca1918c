import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ThrottlerModule } from '@nestjs/throttler';
import { AuthModule } from '@app/auth';
import { CampaignsModule } from '@app/campaigns';
import { TenantsModule } from '@app/tenants';
import { AnalyticsHttpModule } from './analytics/analytics-http.module';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { CampaignsHttpModule } from './campaigns/campaigns-http.module';
import { ChannelsHttpModule } from './channels/channels-http.module';
import { AuditController } from './audit/audit.controller';
import { AuthController } from './auth/auth.controller';
import { THROTTLERS, tooManyRequestsMessage } from './common/auth-throttler.guard';
import { CredentialsGuard } from './common/credentials.guard';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { SharedThrottlerStorage, SharedThrottlerStorageModule } from './common/throttler-storage';
import { TenantContextInterceptor } from './common/tenant-context.interceptor';
import { OperationsController } from './operations/operations.controller';
import { QueueHealthIndicator } from './operations/queue.health';
import { AdminTenantsController } from './tenants/admin-tenants.controller';
import { TenantsController } from './tenants/tenants.controller';
import { UsersController } from './users/users.controller';

/** The HTTP role: controllers and the cross-cutting HTTP concerns. Infrastructure comes from the runtime. */
@Module({
  imports: [
    AuthModule,
    TenantsModule,
    CampaignsModule,
    AnalyticsHttpModule,
    ChannelsHttpModule,
    CampaignsHttpModule,
    TerminusModule.forRoot({ logger: false }),
    // Limits are set per route (login, signup, public pages); this is the default and the storage.
    ThrottlerModule.forRootAsync({
      imports: [SharedThrottlerStorageModule],
      inject: [SharedThrottlerStorage],
      useFactory: (storage: SharedThrottlerStorage) => ({ throttlers: THROTTLERS, storage, errorMessage: tooManyRequestsMessage }),
    }),
  ],
  controllers: [AuthController, TenantsController, AdminTenantsController, UsersController, ApiKeysController, OperationsController, AuditController],
  providers: [
    QueueHealthIndicator,
    { provide: APP_GUARD, useClass: CredentialsGuard },
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
    { provide: APP_INTERCEPTOR, useClass: TenantContextInterceptor },
  ],
})
export class ApiModule {}

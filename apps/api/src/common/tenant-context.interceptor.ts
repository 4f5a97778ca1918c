import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { Principal } from '@app/core';
import { runInTenantContext } from '@app/database';

/**
 * Runs the handler of an authenticated tenant request inside the tenant's database context, so
 * that row-level security confines every query it makes to that tenant's rows.
 */
@Injectable()
export class TenantContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const tenantId = context.switchToHttp().getRequest<{ user?: Principal }>().user?.tenantId;
    if (!tenantId) return next.handle();
    return new Observable((subscriber) => runInTenantContext(tenantId, () => next.handle().subscribe(subscriber)));
  }
}

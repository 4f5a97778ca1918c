import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { ForbiddenError, UnauthorizedError } from '../errors/domain-error';

/** A tenant's id. Branded so that a tenant-scoped query cannot be written with any string. */
export type TenantId = string & { readonly __brand: 'TenantId' };

export const asTenantId = (id: string): TenantId => id as TenantId;

export enum Role {
  PlatformAdmin = 'platform_admin',
  TenantAdmin = 'tenant_admin',
  Editor = 'editor',
  Viewer = 'viewer',
}

export const TENANT_ROLES = [Role.TenantAdmin, Role.Editor, Role.Viewer] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

/** Who is calling: a logged-in user (JWT) or a tenant's integration (API key). */
export interface Principal {
  kind: 'user' | 'api_key';
  /** user id or API key id */
  id: string;
  tenantId: TenantId | null;
  role: Role;
  email?: string;
  /** a user's: the session generation of the token it came with (AuthService.currentMember checks it) */
  tokenVersion?: number;
}

export const IS_PUBLIC = 'filodiretto:public';
export const REQUIRED_ROLES = 'filodiretto:roles';
export const USERS_ONLY = 'filodiretto:users-only';

/** The route needs no credential. Every other route does (default deny). Documented as `security: []`. */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(PUBLIC_OPERATION_EXTENSION, true));

/** Marks public operations in the OpenAPI document; the document builder turns it into `security: []`. */
export const PUBLIC_OPERATION_EXTENSION = 'x-public';

/** Roles allowed on the route. Without it any authenticated tenant member is allowed. */
export const Roles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

/** The route manages people or credentials: an API key may not call it. */
export const UsersOnly = () => SetMetadata(USERS_ONLY, true);

/** Roles that may write (create or change) tenant data. */
export const WRITERS = [Role.TenantAdmin, Role.Editor];

type RequestWithPrincipal = { user?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<RequestWithPrincipal>().user;
  if (!principal) throw new UnauthorizedError();
  return principal;
});

/** The tenant of the credential; the only source of a tenant id in a request. */
export const CurrentTenant = createParamDecorator((_: unknown, context: ExecutionContext): TenantId => {
  const principal = context.switchToHttp().getRequest<RequestWithPrincipal>().user;
  if (!principal) throw new UnauthorizedError();
  if (!principal.tenantId) throw new ForbiddenError('This route belongs to a comune: use a comune account or API key');
  return principal.tenantId;
});

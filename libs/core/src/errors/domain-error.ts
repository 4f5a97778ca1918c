/** What went wrong, in the domain's words; the HTTP layer maps each kind to a status. */
export enum ErrorKind {
  BadRequest = 'bad-request',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  NotFound = 'not-found',
  Conflict = 'conflict',
  TooManyRequests = 'too-many-requests',
  Unavailable = 'unavailable',
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends DomainError {
  constructor(message: string, code?: string) {
    super(ErrorKind.BadRequest, message, code);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'Missing or invalid credentials', code?: string) {
    super(ErrorKind.Unauthorized, message, code);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string, code?: string) {
    super(ErrorKind.Forbidden, message, code);
  }
}

/** Also what another tenant's resource answers: indistinguishable from a missing one. */
export class NotFoundError extends DomainError {
  constructor(resource: string, code?: string) {
    super(ErrorKind.NotFound, `${resource} not found`, code);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, code?: string) {
    super(ErrorKind.Conflict, message, code);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(message: string, code?: string) {
    super(ErrorKind.TooManyRequests, message, code);
  }
}

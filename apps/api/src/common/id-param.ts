import { ParseUUIDPipe } from '@nestjs/common';
import { NotFoundError } from '@app/core';

/** An id in the path that is not a UUID cannot name any resource: 404, like a missing one. */
export const IdParam = (resource: string) => new ParseUUIDPipe({ exceptionFactory: () => new NotFoundError(resource) });

import type { IncomingMessage } from 'http';

/** The request's media type, lower case, without parameters; undefined when none was given. */
export const mediaType = (request: IncomingMessage): string | undefined => request.headers['content-type']?.split(';')[0].trim().toLowerCase() || undefined;

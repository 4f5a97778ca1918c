import type { Request, Response } from 'express';
import { histogram } from '@app/core';

const httpDuration = histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration by method, route and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});

/**
 * Times every request against its route pattern (not the raw URL, to bound cardinality), with the
 * status it was really answered with: taken when the response is finished, so that refusals by
 * guards (401, 403, 429), which no interceptor sees, and errors turned into responses by the
 * filter count as what they were. Requests that matched no route (or were refused before
 * routing: a body that could not be read) count as `unmatched`.
 */
export function recordHttpMetrics(request: Request, response: Response, next: () => void): void {
  const stop = httpDuration.startTimer({ method: request.method });
  response.once('finish', () => {
    const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
    stop({ route, status: String(response.statusCode) });
  });
  next();
}

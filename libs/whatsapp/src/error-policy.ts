/**
 * What to do with a Graph API error code (whatsapp-cloud-api.md §3.2):
 * - retry: transient (throughput, pair rate, outages); back off and try again;
 * - permanent: this message to this recipient cannot succeed; record the code, never retry;
 * - pause: the channel itself is broken (token, account, billing, policy); stop sending on it and alert.
 */
export enum ErrorDisposition {
  Retry = 'retry',
  Permanent = 'permanent',
  Pause = 'pause',
}

const RETRY = new Set([130429, 131056, 4, 80007, 131000, 131016, 133004, 2, 1, 131057]);
const PAUSE = new Set([190, 0, 3, 10, 131005, 131048, 131064, 131037, 131042, 131045, 133010, 368, 131031]);

export function classifyGraphError(code: number | null, httpStatus?: number): ErrorDisposition {
  if (code === null) return httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500 && httpStatus !== 429 ? ErrorDisposition.Permanent : ErrorDisposition.Retry;
  if (RETRY.has(code)) return ErrorDisposition.Retry;
  if (PAUSE.has(code) || (code >= 200 && code <= 299)) return ErrorDisposition.Pause;
  return ErrorDisposition.Permanent;
}

/** 131049 must not be retried within 24 h; everything else retryable starts around a second. */
export function retryDelayMs(code: number | null, attempt: number): number {
  if (code === 131056) return 1000 * 4 ** Math.min(attempt, 4); // 1, 4, 16, 64 s (Meta's advice for pair rate)
  if (code === 131057) return 90_000;
  const base = 1000 * 2 ** Math.min(attempt, 6);
  return base + Math.floor(Math.random() * 250);
}

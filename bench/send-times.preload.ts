/**
 * Preloaded into the bench's worker processes (`node -r`), never into the platform: records when
 * each Graph API request is handed to the HTTP client (the sender's side of the cap figures, which
 * the fake server's receive stamps blur whenever the receiver itself stalls). Appends epoch
 * milliseconds and the request path to BENCH_SEND_TIMES_FILE, flushed every 100 ms, for the phone
 * number ids starting with BENCH_SEND_TIMES_PREFIX (all when unset).
 */
import { appendFileSync } from 'fs';
import { Agent } from 'undici';

const file = process.env.BENCH_SEND_TIMES_FILE;
// Only the numbers whose phone number id starts with this (the cap part's): noting every send of
// the throughput part would add its own cost to the worker being measured.
const prefix = process.env.BENCH_SEND_TIMES_PREFIX ?? '';
if (file) {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    appendFileSync(file, pending.join(''));
    pending = [];
  };
  setInterval(flush, 100).unref();
  process.on('exit', flush);
  const dispatch = Agent.prototype.dispatch;
  Agent.prototype.dispatch = function (this: Agent, options, handler) {
    const path = options.path;
    if (options.method === 'POST' && typeof path === 'string' && path.endsWith('/messages') && path.startsWith(prefix, path.indexOf('/', 1) + 1)) {
      pending.push(`${performance.timeOrigin + performance.now()} ${options.path}\n`);
    }
    return dispatch.call(this, options, handler);
  } as typeof dispatch;
}

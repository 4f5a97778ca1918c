/**
 * Preloaded into the bench's worker processes (`node -r`), never into the platform: records when
 * each Graph API request is handed to the HTTP client (the sender's side of the cap figures, which
 * the fake server's receive stamps blur whenever the receiver itself stalls). Appends epoch
 * milliseconds and the request path to BENCH_SEND_TIMES_FILE, flushed every 100 ms.
 */
import { appendFileSync } from 'fs';
import { Agent } from 'undici';

const file = process.env.BENCH_SEND_TIMES_FILE;
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
    if (options.method === 'POST' && typeof options.path === 'string' && options.path.endsWith('/messages')) {
      pending.push(`${performance.timeOrigin + performance.now()} ${options.path}\n`);
    }
    return dispatch.call(this, options, handler);
  } as typeof dispatch;
}

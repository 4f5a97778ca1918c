/**
 * CSV import at scale: BENCH_ROWS rows (default 100,000; ~1% duplicates and ~0.5% invalid phones)
 * through `POST /v1/subscribers/import` over HTTP, then a second import of the same file (all
 * updates). Prints rows/s for both. Target: 100,000 rows in under 30 s.
 *
 *   npm run bench:import
 *   BENCH_ROWS=500000 npm run bench:import
 *
 * Uses DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres) with a database
 * of its own, dropped at the end unless BENCH_KEEP=1. No Redis: the in-process queue transport.
 */
import { benchEnv as env, log, startBenchApp } from './bench-app';

const ROWS = Number(env.BENCH_ROWS ?? 100_000);
const TOPICS = ['meteo', 'viabilita', 'acqua', 'farmacie', 'eventi'];

function buildCsv(rows: number): string {
  const lines = ['phone,name,topics'];
  for (let i = 0; i < rows; i++) {
    if (i % 200 === 199) {
      lines.push(`non-valido-${i},Persona ${i},meteo`);
      continue;
    }
    const n = i % 100 === 99 ? i - 1 : i; // ~1% repeat the previous number: merged
    const phone = i % 3 === 0 ? `+39 347 ${String(n).padStart(7, '0')}` : i % 3 === 1 ? `347${String(n).padStart(7, '0')}` : `0039347${String(n).padStart(7, '0')}`;
    lines.push(`${phone},Persona ${i},${TOPICS[i % TOPICS.length]}|${TOPICS[(i + 2) % TOPICS.length]}`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const bench = await startBenchApp({ label: 'import' });
  try {
    const auth = { Authorization: `Bearer ${bench.adminToken}` };
    const channel = await bench.call('POST', '/v1/channels', { name: 'Banco', provider: 'sandbox' }, auth);
    for (const key of TOPICS) await bench.call('POST', '/v1/topics', { key, name: key }, auth);

    const csv = buildCsv(ROWS);
    log(`CSV of ${ROWS.toLocaleString('en')} rows, ${(csv.length / 1e6).toFixed(1)} MB`);
    for (const round of ['first import (inserts)', 'same file again (updates)']) {
      const form = new FormData();
      form.append('channelId', channel.id);
      form.append('file', new Blob([csv], { type: 'text/csv' }), 'iscritti.csv');
      const started = process.hrtime.bigint();
      const response = await fetch(`${bench.base}/v1/subscribers/import`, { method: 'POST', headers: auth, body: form });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const result = (await response.json()) as { imported: number; updated: number; rejected: unknown[]; rejectedCount: number };
      if (!response.ok) throw new Error(`import: ${response.status} ${JSON.stringify(result)}`);
      log(
        `${round}: ${ROWS.toLocaleString('en')} rows in ${seconds.toFixed(2)} s = ${Math.round(ROWS / seconds).toLocaleString('en')} rows/s ` +
          `(imported ${result.imported}, updated ${result.updated}, rejected ${result.rejectedCount})`,
      );
    }
  } finally {
    await bench.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

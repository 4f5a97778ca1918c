#!/usr/bin/env node
// Lints an OpenAPI document with Redocly's rules ("recommended" ruleset); prints every problem as
// JSON lines and exits 1 when any has severity "error". Usage: node scripts/lint-openapi.mjs <file.json>
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createConfig, lintFromString } from '@redocly/openapi-core';

const file = resolve(process.argv[2] ?? 'openapi.json');
const config = await createConfig({ extends: ['recommended'], rules: { 'info-license-url': 'off' } });
const problems = await lintFromString({ source: readFileSync(file, 'utf8'), absoluteRef: file, config });
for (const problem of problems) {
  const where = problem.location?.[0]?.pointer ?? '';
  console.log(JSON.stringify({ severity: problem.severity, rule: problem.ruleId, message: problem.message, where }));
}
const errors = problems.filter((problem) => problem.severity === 'error').length;
console.log(`openapi lint: ${errors} error(s), ${problems.length - errors} warning(s)`);
process.exit(errors > 0 ? 1 : 0);

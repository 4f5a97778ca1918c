#!/usr/bin/env node
// Compiles apps/, libs/, migrations/ and bench/ to dist/ with swc (type checking is
// `npm run typecheck`). Only files newer than their output are recompiled, so a restart is quick.
const fs = require('fs');
const path = require('path');
const swc = require('@swc/core');
const { swcOptions, root } = require('./swc-options');

const sources = ['apps', 'libs', 'migrations', 'bench'];
const outDir = path.join(root, 'dist');

function* walk(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (/\.ts$/.test(entry.name) && !/\.(spec|e2e-spec)\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

async function main() {
  const options = swcOptions();
  let compiled = 0;
  const jobs = [];
  for (const source of sources) {
    for (const file of walk(path.join(root, source))) {
      const rel = path.relative(root, file).replace(/\.ts$/, '.js');
      const out = path.join(outDir, rel);
      if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(file).mtimeMs) continue;
      jobs.push(
        swc.transformFile(file, { ...options, filename: file, outputPath: out }).then((result) => {
          fs.mkdirSync(path.dirname(out), { recursive: true });
          fs.writeFileSync(out, result.code + `\n//# sourceMappingURL=${path.basename(out)}.map`);
          if (result.map) fs.writeFileSync(out + '.map', result.map);
          compiled += 1;
        }),
      );
    }
  }
  await Promise.all(jobs);
  // Static assets (HTML pages) are copied beside the compiled code.
  for (const source of sources) {
    for (const file of walkAssets(path.join(root, source))) {
      const out = path.join(outDir, path.relative(root, file));
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.copyFileSync(file, out);
    }
  }
  process.stdout.write(`build: ${compiled} file(s) compiled to dist/\n`);
}

function* walkAssets(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walkAssets(full);
    else if (/\.(html|css|svg|js)$/.test(entry.name) && full.includes(`${path.sep}assets${path.sep}`)) yield full;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

#!/usr/bin/env node
// Entry point of the `switchyard` command. Runs the compiled CLI; on a
// checkout where it has not been compiled yet, compiles it first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('switchyard: first run, building (npm run build)…\n');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write('switchyard: the build failed; run `npm run build` to see why.\n');
    process.exit(1);
  }
}
const { main } = await import(entry.href);
await main(process.argv);

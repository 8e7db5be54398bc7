#!/usr/bin/env node
// Entry point of the `switchyard` command. Runs the compiled CLI; on a
// checkout where it has not been compiled yet, compiles it first. The
// dashboard (web/dist) is built by the same `npm run build`; when only the
// dashboard is missing, a failed build is a warning, not an error: the API
// and the CLI work without it, and the server says at `/` how to build it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = new URL('../dist/cli/main.js', import.meta.url);
const dashboard = new URL('../web/dist/index.html', import.meta.url);
const cliMissing = !existsSync(entry);
// Only where it can be built: a checkout with the dashboard's sources and its
// build tool (an install without devDependencies would fail at every command).
const dashboardMissing =
  !existsSync(dashboard) && existsSync(new URL('../web/index.html', import.meta.url)) && existsSync(new URL('../node_modules/vite/package.json', import.meta.url));
if (cliMissing || dashboardMissing) {
  process.stderr.write(`switchyard: ${cliMissing ? 'first run' : 'the dashboard is not built'}, building (npm run build)…\n`);
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    if (!existsSync(entry)) {
      process.stderr.write('switchyard: the build failed; run `npm run build` to see why.\n');
      process.exit(1);
    }
    process.stderr.write('switchyard: building the dashboard failed; going on without it (run `npm run build` to see why).\n');
  }
}
const { main } = await import(entry.href);
await main(process.argv);

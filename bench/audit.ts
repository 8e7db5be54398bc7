/**
 * What the audit log costs on the API's busiest write: POST /tasks
 * throughput into a workspace with `auditLogEnabled` and into one without,
 * in alternating rounds on one server (each request then appends two
 * records: the task's first transition, in its transaction, and the call).
 * The load runs in a child process so it does not share the server's event
 * loop. No daemon: tasks stay queued.
 *
 * Usage: node --import tsx bench/audit.ts [--quick] [--pg|--pglite] [--concurrency N]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SwitchyardClient } from '../src/client/index.js';
import { appendAudit } from '../src/store/audit.js';
import { createToken } from '../src/store/tokens.js';
import { createWorkspace } from '../src/store/workspaces.js';
import { args, config, fmt, machine, opt, quick, report, startBenchServer, type Figure } from './lib.js';

const SELF = fileURLToPath(import.meta.url);

/** The load generator (child process): n POST /tasks, `concurrency` at a time; prints { n, ms }. */
async function load(url: string, token: string, n: number, concurrency: number): Promise<void> {
  const client = new SwitchyardClient({ url, token });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        await client.tasks.create({ assignedAgent: 'noop', prompt: `Fix the flaky login test, variant ${i}` });
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ n, ms: performance.now() - t0 })}\n`);
}

function round(url: string, token: string, n: number, concurrency: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--load', url, token, String(n), String(concurrency)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited ${code}`));
      const r = JSON.parse(out) as { n: number; ms: number };
      resolve((r.n / r.ms) * 1000);
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One append on its own (one statement, autocommit), serially: what a record costs the database. */
async function appendLatency(db: Parameters<typeof appendAudit>[0], workspaceId: string, n: number): Promise<number> {
  const actor = { kind: 'user', tokenId: '00000000-0000-4000-8000-000000000000', role: 'member', clientAddress: '127.0.0.1' };
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await appendAudit(db, { workspaceId, actor, action: 'task.cancel', targetType: 'task', targetId: `t${i}`, before: { status: 'queued' }, after: { status: 'cancelled', reason: 'bench' } });
    samples.push(performance.now() - t);
  }
  return median(samples);
}

async function main(): Promise<void> {
  const concurrency = Number(opt('--concurrency') ?? 16);
  const n = quick ? 300 : 1500;
  const rounds = quick ? 3 : 5;
  const stack = await startBenchServer(config({ runtime: { max_prompt_size: 65536 } }));
  try {
    const tokens: Record<'on' | 'off', string> = { on: '', off: '' };
    for (const mode of ['on', 'off'] as const) {
      await createWorkspace(stack.db, { id: `bench-audit-${mode}`, auditLogEnabled: mode === 'on', maxConcurrentTasks: 1000 });
      tokens[mode] = (await createToken(stack.db, { role: 'member', name: 'bench', workspaceId: `bench-audit-${mode}` })).token;
    }
    // Warm-up: JIT, pools, the first partitions' pages.
    for (const mode of ['off', 'on'] as const) await round(stack.url, tokens[mode], 100, concurrency);
    const rate: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (let i = 0; i < rounds; i++) {
      // Alternating, so a slow minute of the machine hits both.
      for (const mode of i % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)) rate[mode].push(await round(stack.url, tokens[mode], n, concurrency));
    }
    const records = (await stack.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = 'bench-audit-on'`)).rows[0]!.n;
    const verify = await new SwitchyardClient({ url: stack.url, token: stack.adminToken, workspace: 'bench-audit-on' }).audit.verify();
    const appendOn = await appendLatency(stack.db, 'bench-audit-on', quick ? 300 : 2000);
    const appendOff = await appendLatency(stack.db, 'bench-audit-off', quick ? 300 : 2000);
    const off = median(rate.off);
    const on = median(rate.on);
    const figures: Figure[] = [
      { bench: 'audit', figure: `POST /tasks, audit off (${stack.backend})`, value: off, unit: 'tasks/s', note: `median of ${rounds} rounds of ${n}, concurrency ${concurrency}: ${rate.off.map((r) => fmt(r, 0)).join(' ')}` },
      { bench: 'audit', figure: `POST /tasks, audit on (${stack.backend})`, value: on, unit: 'tasks/s', note: rate.on.map((r) => fmt(r, 0)).join(' ') },
      { bench: 'audit', figure: `audit overhead on POST /tasks (${stack.backend})`, value: (1 - on / off) * 100, unit: '%', note: `${records} records written; chain verified ${verify.ok ? 'intact' : 'BROKEN'} in the end` },
      { bench: 'audit', figure: `one append, p50 (${stack.backend})`, value: appendOn, unit: 'ms', note: 'serial, one statement each' },
      { bench: 'audit', figure: `one append to a workspace without audit, p50 (${stack.backend})`, value: appendOff, unit: 'ms', note: 'the enabled check only' },
    ];
    process.stdout.write(`${machine()}\n`);
    report(figures);
  } finally {
    await stack.close();
  }
}

if (args[0] === '--load') {
  await load(args[1]!, args[2]!, Number(args[3]), Number(args[4]));
} else {
  await main();
}

/**
 * Switchyard with a big tasks table: 100,000 tasks already in it (bulk
 * SQL, months of history: mostly finished, some failed/cancelled, 1% still
 * queued, four agents), then
 *  - tasks created per second, sustained (POST /tasks, 10 concurrent
 *    clients in another process), against the same on an empty table;
 *  - GET /tasks latency p50/p99: the first page, a page 50,000 rows deep in
 *    the cursor, filtered by status (failed 5%, queued 1%) and by agent;
 *  - EXPLAIN (ANALYZE, BUFFERS) of the list queries (captured as the server
 *    sends them) and of the dispatcher's claim (claim_pick_workspace.sql and
 *    claim_tasks.sql, in a rolled-back transaction), with the index each uses.
 * PGlite always; PostgreSQL too when DATABASE_URL is set.
 *
 * Usage: node --import tsx bench/scale.ts [--quick] [--pglite|--pg] [--rows N]
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import WebSocket from 'ws';
import { SwitchyardClient } from '../src/client/index.js';
import { PROTOCOL_VERSION } from '../src/core/protocol.js';
import { sql } from '../src/store/sql.js';
import { dropDatabase, hasPg, runTs, say, sleep, startSy, type BenchFigure } from './common.js';
import { args, config, machine, opt, percentile, quick, report, type BenchStack } from './lib.js';

const ROWS = Number(opt('--rows') ?? (quick ? 20_000 : 100_000));
const CREATE_N = quick ? 300 : 3_000;
const LIST_N = quick ? 30 : 200;
const WORKSPACE = 'bench';
const AGENTS = ['claude', 'codex', 'gemini', 'noop'];

const figures: BenchFigure[] = [];
const notes: string[] = [];
const skipped: string[] = [];

/** Captures the text and parameters of statements node-postgres sends that match `pred`. */
function capture(pred: (text: string) => boolean): { last(): { text: string; values: unknown[] } | undefined; stop(): void } {
  let last: { text: string; values: unknown[] } | undefined;
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...a: unknown[]) {
    const first = a[0] as string | { text?: string; values?: unknown[] };
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    const values = (typeof first === 'string' ? a[1] : first?.values) as unknown[] | undefined;
    if (pred(text)) last = { text, values: Array.isArray(values) ? values : [] };
    return original.apply(this, a);
  };
  return { last: () => last, stop: () => void (proto.query = original) };
}

async function idleRuntime(stack: BenchStack): Promise<WebSocket> {
  const ws = new WebSocket(`${stack.url.replace(/^http/, 'ws')}/api/v1/daemon/connect`, { headers: { authorization: `Bearer ${stack.daemonToken}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const welcomed = new Promise<void>((r) => ws.on('message', (d) => JSON.parse(d.toString()).type === 'welcome' && r()));
  ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, daemonId: randomUUID(), name: 'idle', hostname: 'idle', version: 'bench', capacity: 1, agents: AGENTS.map((name) => ({ name, binary: `/bin/${name}`, version: null, status: 'ok', reason: null })), running: [], pending: [] }));
  await welcomed;
  ws.send(JSON.stringify({ type: 'health', cpu: 1, memUsedMb: 1, agentsRssMb: 0, active: 0, throttled: true, throttleReason: 'bench: idle runtime' }));
  await sleep(200);
  return ws;
}

async function fill(stack: BenchStack, rows: number): Promise<number> {
  const t0 = performance.now();
  // Months of history, oldest first; statuses by position: 1% queued (the newest), 5% failed, 3% cancelled, the rest completed.
  await stack.db.query(
    `INSERT INTO tasks (workspace_id, assigned_agent, prompt, prompt_hash, status, attempt, created_at, updated_at, finished_at, result_text)
     SELECT $1, ($3::text[])[1 + g % 4], 'Task ' || g || ': refactor the module and keep the tests green', md5(g::text),
            CASE WHEN g > $2 * 0.99 THEN 'queued' WHEN g % 20 = 0 THEN 'failed' WHEN g % 33 = 0 THEN 'cancelled' ELSE 'completed' END,
            CASE WHEN g > $2 * 0.99 THEN 0 ELSE 1 END,
            now() - make_interval(secs => ($2 - g) * 30), now() - make_interval(secs => ($2 - g) * 30),
            CASE WHEN g > $2 * 0.99 THEN NULL ELSE now() - make_interval(secs => ($2 - g) * 30 - 20) END,
            CASE WHEN g % 20 = 0 OR g > $2 * 0.99 THEN NULL ELSE 'done' END
     FROM generate_series(1, $2) g`,
    [WORKSPACE, rows, AGENTS],
  );
  await stack.db.query(
    `INSERT INTO task_transitions (task_id, from_status, to_status, actor, reason, attempt, at)
     SELECT id, NULL, 'queued', 'user', 'created', 0, created_at FROM tasks WHERE status = 'queued'`,
  );
  await stack.db.query('ANALYZE tasks');
  await stack.db.query('ANALYZE task_transitions');
  return performance.now() - t0;
}

async function createRate(stack: BenchStack): Promise<number> {
  const r = JSON.parse(await runTs('bench/http-load.ts', [stack.url, stack.adminToken, WORKSPACE, String(CREATE_N), '10', 'noop'])) as { n: number; ms: number };
  return r.n / (r.ms / 1000);
}

function indexesOf(plan: string): string {
  const found = new Set<string>();
  for (const m of plan.matchAll(/(Index Only Scan|Index Scan Backward|Index Scan|Bitmap Index Scan|Seq Scan)(?: Backward)? (?:using|on) (\S+)/g)) found.add(`${m[1]} ${m[2]}`);
  return [...found].join(', ') || 'no scan nodes';
}

async function explain(stack: BenchStack, title: string, text: string, values: unknown[], write = false): Promise<string> {
  const run = async (q: { query: (t: string, v?: unknown[]) => Promise<pg.QueryResult> }) => {
    const r = await q.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
    return r.rows.map((x) => String(x['QUERY PLAN'])).join('\n');
  };
  let plan: string;
  if (write) {
    // A claim changes rows: explain it inside a transaction that is rolled back.
    plan = await stack.db
      .tx(async (q) => {
        const p = await run(q);
        throw Object.assign(new Error('rollback'), { plan: p });
      })
      .catch((e: { plan?: string }) => {
        if (e.plan === undefined) throw e;
        return e.plan;
      });
  } else plan = await run(stack.db);
  const uses = indexesOf(plan);
  notes.push(`${title} — ${uses}\n${plan.split('\n').map((l) => `    ${l}`).join('\n')}`);
  return uses;
}

async function listLatency(stack: BenchStack, backend: string, name: string, q: { status?: string; agent?: string; cursor?: string }): Promise<void> {
  const client = new SwitchyardClient({ url: stack.url, token: stack.adminToken, workspace: WORKSPACE });
  const cap = capture((t) => t.includes('FROM tasks') && t.includes('ORDER BY created_at DESC'));
  const samples: number[] = [];
  let items = 0;
  try {
    for (let i = 0; i < 5; i++) await client.tasks.list(q); // warm-up
    for (let i = 0; i < LIST_N; i++) {
      const t0 = performance.now();
      const page = await client.tasks.list(q);
      samples.push(performance.now() - t0);
      items = page.items.length;
    }
  } finally {
    cap.stop();
  }
  const captured = cap.last();
  const uses = captured ? await explain(stack, `GET /tasks ${name} (${backend})`, captured.text, captured.values) : 'query not captured';
  say(`  ${backend} GET /tasks ${name}: p50 ${percentile(samples, 50).toFixed(2)} ms, p99 ${percentile(samples, 99).toFixed(2)} ms (${items} items/page; ${uses})`);
  figures.push(
    { bench: 'scale', figure: `GET /tasks ${name}, ${ROWS / 1000}k tasks, p50 (${backend})`, value: percentile(samples, 50), unit: 'ms', note: `${LIST_N} requests, ${items} items per page; plan: ${uses}` },
    { bench: 'scale', figure: `GET /tasks ${name}, ${ROWS / 1000}k tasks, p99 (${backend})`, value: percentile(samples, 99), unit: 'ms' },
  );
}

async function scale(backend: 'pglite' | 'postgres'): Promise<void> {
  const stack = await startSy(config({ workspace: { id: WORKSPACE, max_concurrent: 10 } }), backend, 'bench_scale');
  const idle = await idleRuntime(stack);
  try {
    const empty = await createRate(stack);
    say(`  ${backend}: POST /tasks on an empty table: ${empty.toFixed(0)}/s`);
    const fillMs = await fill(stack, ROWS);
    say(`  ${backend}: ${ROWS} tasks inserted in ${(fillMs / 1000).toFixed(1)} s`);
    const full = await createRate(stack);
    say(`  ${backend}: POST /tasks with ${ROWS} tasks in the table: ${full.toFixed(0)}/s`);
    figures.push({
      bench: 'scale',
      figure: `tasks created/s with ${ROWS / 1000}k tasks in the table (${backend})`,
      value: full,
      unit: 'tasks/s',
      note: `POST /tasks, 10 concurrent clients, ${CREATE_N} tasks; ${empty.toFixed(0)}/s on an empty table (ratio ${(full / empty).toFixed(2)})`,
      ratios: { 'empty table': full / empty },
    } as BenchFigure);
    await listLatency(stack, backend, 'first page', {});
    const deep = await stack.db.query<{ c: string; id: string }>(
      `SELECT created_at::text AS c, id FROM tasks WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
      [WORKSPACE, Math.floor(ROWS / 2)],
    );
    // The cursor a client would hold after paging that far (the shape the server hands out in nextCursor).
    const cursor = Buffer.from(JSON.stringify([deep.rows[0]!.c, deep.rows[0]!.id])).toString('base64url');
    try {
      await new SwitchyardClient({ url: stack.url, token: stack.adminToken, workspace: WORKSPACE }).tasks.list({ cursor });
      await listLatency(stack, backend, `page ${Math.floor(ROWS / 2)} rows deep`, { cursor });
    } catch (err) {
      skipped.push(`GET /tasks deep page (${backend}): the cursor format changed (${String(err).slice(0, 100)})`);
    }
    await listLatency(stack, backend, 'status=failed (5%)', { status: 'failed' });
    await listLatency(stack, backend, 'status=queued (1%)', { status: 'queued' });
    await listLatency(stack, backend, 'agent=codex (25%)', { agent: 'codex' });
    const daemonId = randomUUID();
    const pickUses = await explain(stack, `claim_pick_workspace.sql (${backend})`, sql('claim_pick_workspace'), [null, AGENTS, daemonId]);
    const claimUses = await explain(stack, `claim_tasks.sql, 10 slots (${backend})`, sql('claim_tasks'), [WORKSPACE, AGENTS, daemonId, 10, 30_000], true);
    figures.push({ bench: 'scale', figure: `claim plans at ${ROWS / 1000}k tasks (${backend})`, value: NaN, unit: '', note: `pick: ${pickUses}; claim: ${claimUses}` });
  } finally {
    idle.terminate();
    await stack.close();
  }
}

say(`# scale benchmark on ${machine()}${quick ? ' (quick)' : ''}: ${ROWS} tasks`);
const backends: ('pglite' | 'postgres')[] = args.includes('--pglite') ? ['pglite'] : args.includes('--pg') ? ['postgres'] : hasPg ? ['pglite', 'postgres'] : ['pglite'];
if (!hasPg && !args.includes('--pglite')) {
  say('scale on PostgreSQL: needs DATABASE_URL; measuring PGlite only.');
  skipped.push('scale on PostgreSQL: needs DATABASE_URL');
}
for (const b of backends) await scale(b);
if (hasPg) await dropDatabase('bench_scale');
for (const n of notes) say(n);
report(figures, { skipped, notes });
process.exit(0);

/**
 * Switchyard as a queue, side by side with graphile-worker 0.18.0 and
 * pg-boss 12.38.0 on the same PostgreSQL (each on its own fresh database,
 * concurrency 10, pool 12; method of the PEERS.md):
 *
 *  - enqueue, jobs/s: bulk (graphile addJobs, pg-boss insert; Switchyard:
 *    the store's insertTask, many in one transaction, and POST /tasks from
 *    10 concurrent HTTP clients in another process) and one at a time
 *    (addJob, send, sequential POST /tasks);
 *  - drain, jobs/s: N jobs enqueued first, then from starting the worker
 *    until no uncompleted job is left; every job checked to have run exactly
 *    once. Switchyard's worker is a real `switchyard daemon` process with
 *    max_concurrent 10 (workspace cap 10) and a no-op command agent,
 *    /bin/true: each Switchyard job is an agent process, spawned and reaped;
 *  - latency enqueue → work start, p50/p95/p99: worker in its own process,
 *    20 warm-up jobs, then 200 one at a time 20 ms apart (Switchyard:
 *    POST /tasks returning → the run's startedAt, the agent's spawn).
 *
 * Median of 2 repetitions (1 with --quick; --reps N), spread in the notes; every
 * Switchyard figure is also given ÷ each peer. Needs DATABASE_URL (any
 * database on the server; bench_* databases are created next to it).
 *
 * Usage: node --import tsx bench/queue.ts [--quick] [--reps N]
 *          [--only enqueue,drain,latency] [--drain 10000,100000]
 *          [--profile DIR]   (CPU profiles of server and daemon over one Switchyard drain)
 *          [--trace-sql]     (statements per drained task)
 *          [--switchyard-only]
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { SwitchyardClient } from '../src/client/index.js';
import { PROTOCOL_VERSION } from '../src/core/protocol.js';
import { insertTask } from '../src/store/tasks.js';
import {
  dropDatabase,
  freshDatabase,
  hasPg,
  repeatedFigure,
  runTs,
  say,
  sleep,
  spawnDaemon,
  startSy,
  summarize,
  traceQueries,
  type BenchFigure,
} from './common.js';
import { args, config, machine, opt, percentile, quick, report, ROOT, type BenchStack } from './lib.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { drainPeer, PEER_LABEL, PEERS, producer, setupPeer, type PeerName } from './queue-peers.js';

const REPS = Number(opt('--reps') ?? (quick ? 1 : 2));
const ONLY = (opt('--only') ?? 'enqueue,drain,latency').split(',');
const BULK_N = quick ? 2_000 : 10_000;
const ONE_N = quick ? 200 : 1_000;
const HTTP_N = quick ? 500 : 3_000;
const DRAIN_NS = (opt('--drain') ?? (quick ? '500' : '10000,100000')).split(',').map(Number);
/**
 * Each Switchyard job is an agent process: at tens of jobs per second a
 * 100k drain takes the better part of an hour per repetition, so by default
 * Switchyard drains up to 10k and the report says so (`--sy-drain-max 100000`
 * runs it anyway).
 */
const SY_DRAIN_MAX = Number(opt('--sy-drain-max') ?? 10_000);
const LAT_N = quick ? 100 : 200;
const PROFILE = opt('--profile');
const TRACE_SQL = args.includes('--trace-sql');
/** Only Switchyard's side (profiling runs). */
const SY_ONLY = args.includes('--switchyard-only');

const WORKSPACE = 'bench';
const syConfig = () => config({ workspace: { id: WORKSPACE, max_concurrent: 10 } });
const NOOP = { name: 'noop', binary: '/bin/true', args: [], version_args: [] };
const daemonYaml = { orchestrator: { agents: [NOOP], runtime: { max_concurrent: 10, cpu_threshold: 64 } } };

type System = 'switchyard' | 'switchyard-store' | 'switchyard-http' | PeerName;
const results = new Map<string, Map<System, number[]>>();
function record(metric: string, system: System, value: number): void {
  let m = results.get(metric);
  if (!m) results.set(metric, (m = new Map()));
  m.set(system, [...(m.get(system) ?? []), value]);
  say(`  ${metric} ${system}: ${value.toFixed(value < 100 ? 2 : 0)}`);
}
const notes: string[] = [];

/**
 * A runtime that is online with the no-op agent but throttled, so it never
 * takes work: tasks are created as they would be with a busy fleet (not
 * marked "no runtime has agent noop").
 */
async function idleRuntime(stack: BenchStack): Promise<() => Promise<void>> {
  const ws = new WebSocket(`${stack.url.replace(/^http/, 'ws')}/api/v1/daemon/connect`, { headers: { authorization: `Bearer ${stack.daemonToken}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const welcomed = new Promise<void>((r) => ws.on('message', (d) => JSON.parse(d.toString()).type === 'welcome' && r()));
  ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, daemonId: randomUUID(), name: 'idle', hostname: 'idle', version: 'bench', capacity: 1, agents: [{ name: 'noop', binary: '/bin/true', version: null, status: 'ok', reason: null }], running: [], pending: [] }));
  await welcomed;
  ws.send(JSON.stringify({ type: 'health', cpu: 1, memUsedMb: 1, agentsRssMb: 0, active: 0, throttled: true, throttleReason: 'bench: idle runtime' }));
  await sleep(200);
  return () =>
    new Promise<void>((r) => {
      ws.once('close', () => r());
      ws.close();
    });
}

async function insertMany(stack: BenchStack, from: number, n: number): Promise<void> {
  await stack.db.tx(async (q) => {
    for (let i = from; i < from + n; i++) await insertTask(q, { workspaceId: WORKSPACE, assignedAgent: 'noop', prompt: `noop ${i}` });
  });
}

async function enqueueSwitchyard(): Promise<void> {
  const stack = await startSy(syConfig(), 'postgres');
  const stopIdle = await idleRuntime(stack);
  try {
    await insertMany(stack, 0, 200); // warm-up
    const t = performance.now();
    await insertMany(stack, 1_000_000, BULK_N);
    record('bulk enqueue', 'switchyard-store', BULK_N / ((performance.now() - t) / 1000));
    const conc = JSON.parse(await runTs('bench/http-load.ts', [stack.url, stack.adminToken, WORKSPACE, String(HTTP_N), '10'])) as { n: number; ms: number };
    record('bulk enqueue', 'switchyard-http', conc.n / (conc.ms / 1000));
    const seq = JSON.parse(await runTs('bench/http-load.ts', [stack.url, stack.adminToken, WORKSPACE, String(ONE_N), '1'])) as { n: number; ms: number };
    record('one-at-a-time enqueue', 'switchyard', seq.n / (seq.ms / 1000));
  } finally {
    await stopIdle();
    await stack.close();
  }
}

async function enqueuePeer(peer: PeerName): Promise<void> {
  const url = await freshDatabase('bench_peer');
  await setupPeer(peer, url);
  const p = await producer(peer, url);
  try {
    await p.bulk(0, 200); // warm-up
    for (let i = 0; i < 20; i++) await p.one(200 + i);
    let t = performance.now();
    await p.bulk(1_000_000, BULK_N);
    record('bulk enqueue', peer, BULK_N / ((performance.now() - t) / 1000));
    t = performance.now();
    for (let i = 0; i < ONE_N; i++) await p.one(2_000_000 + i);
    record('one-at-a-time enqueue', peer, ONE_N / ((performance.now() - t) / 1000));
  } finally {
    await p.close();
  }
}

async function drainSwitchyard(n: number, profileDir?: string): Promise<void> {
  const stack = await startSy(syConfig(), 'postgres');
  let daemon: Awaited<ReturnType<typeof spawnDaemon>> | undefined;
  try {
    for (let i = 0; i < n; i += 5_000) await insertMany(stack, i, Math.min(5_000, n - i));
    const tracer = TRACE_SQL ? traceQueries() : undefined;
    const session = profileDir ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
    }
    daemon = await spawnDaemon(stack.url, stack.daemonToken, daemonYaml, profileDir ? { prof: profileDir } : {});
    const t0 = daemon.connectedAt;
    for (;;) {
      const { rows } = await stack.db.query<{ n: number }>(
        `/* bench */ SELECT (SELECT count(*) FROM tasks WHERE status = 'queued') + (SELECT count(*) FROM tasks WHERE status IN ('claimed', 'executing')) AS n`,
      );
      if (Number(rows[0]!.n) === 0) break;
      await sleep(n > 20_000 ? 200 : 50);
    }
    const ms = performance.now() - t0;
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(profileDir!, { recursive: true });
      writeFileSync(join(profileDir!, `server-drain-${n}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    }
    if (tracer) {
      const stats = [...tracer.stop()].filter(([sql]) => !sql.startsWith('/* bench */')).sort((a, b) => b[1].ms - a[1].ms);
      const total = stats.reduce((s, [, v]) => s + v.n, 0);
      const lines = [`Statements the server sent during a drain of ${n} tasks: ${total} (${(total / n).toFixed(1)} per task); by total time (statement latency includes waiting for the pool):`];
      for (const [sql, v] of stats.slice(0, 25)) lines.push(`  ${(v.n / n).toFixed(2).padStart(6)}/task  ${v.ms.toFixed(0).padStart(7)} ms  ${(v.ms / v.n).toFixed(2).padStart(6)} ms avg  ${sql}`);
      notes.push(lines.join('\n'));
      say(lines.join('\n'));
    }
    const { rows } = await stack.db.query<Record<string, number>>(
      `SELECT count(*) FILTER (WHERE status = 'completed') AS completed, count(*) AS total, max(attempt) AS max_attempt,
              (SELECT count(*) FROM task_runs) AS runs, (SELECT count(DISTINCT task_id) FROM task_runs) AS tasks_with_runs
       FROM tasks`,
    );
    const v = rows[0]!;
    const ok = Number(v.completed) === n && Number(v.total) === n && Number(v.runs) === n && Number(v.tasks_with_runs) === n && Number(v.max_attempt) === 1;
    if (!ok) throw new Error(`Switchyard drain: not every task ran exactly once: ${JSON.stringify(v)}`);
    record(`drain ${n}`, 'switchyard', n / (ms / 1000));
  } finally {
    await daemon?.stop();
    await stack.close();
  }
  if (profileDir && daemon) {
    const file = readdirSync(profileDir).find((f) => f.includes(`.${daemon!.pid}.`) && f.endsWith('.cpuprofile'));
    const server = formatSummary(`Server process (in-process with the bench), drain of ${n}`, summarizeProfile(join(profileDir, `server-drain-${n}.cpuprofile`), 25, PROFILE_INCL));
    const d = file ? formatSummary(`Daemon process, drain of ${n}`, summarizeProfile(join(profileDir, file), 25, PROFILE_INCL)) : 'daemon profile not found';
    notes.push(server, d);
    say(server);
    say(d);
  }
}

const PROFILE_INCL = ['claimTasks', 'pass', 'handle', 'recordStarted', 'recordFinished', 'planLaunch', 'ensureShim', 'spawn', 'sendHealth', 'groupRss', 'insertEventBatches', 'publish', 'taskToken', 'createToken'];

async function drainOnePeer(peer: PeerName, n: number): Promise<void> {
  const url = await freshDatabase('bench_peer');
  await setupPeer(peer, url);
  const p = await producer(peer, url);
  for (let i = 0; i < n; i += 10_000) await p.bulk(i, Math.min(10_000, n - i));
  await p.close();
  const r = await drainPeer(peer, url, n);
  if (r.missing || r.duplicates) throw new Error(`${peer} drain: ${r.missing} jobs never ran, ${r.duplicates} ran twice`);
  record(`drain ${n}`, peer, n / (r.ms / 1000));
}

function recordLatency(system: System, samples: number[]): void {
  record('latency p50', system, percentile(samples, 50));
  record('latency p95', system, percentile(samples, 95));
  record('latency p99', system, percentile(samples, 99));
}

async function latencySwitchyard(): Promise<void> {
  const stack = await startSy(syConfig(), 'postgres');
  const daemon = await spawnDaemon(stack.url, stack.daemonToken, daemonYaml);
  try {
    const client = new SwitchyardClient({ url: stack.url, token: stack.adminToken, workspace: WORKSPACE });
    const sent: { id: string; returned: number }[] = [];
    for (let i = 0; i < LAT_N + 20; i++) {
      const t = await client.tasks.create({ assignedAgent: 'noop', prompt: `noop ${i}` });
      sent.push({ id: t.id, returned: Date.now() });
      await sleep(20);
    }
    let started = new Map<string, number>();
    for (let tries = 0; tries < 600; tries++) {
      const { rows } = await stack.db.query<{ task_id: string; s: number }>(
        'SELECT task_id, extract(epoch FROM started_at) * 1000 AS s FROM task_runs WHERE task_id = ANY ($1::uuid[])',
        [sent.map((s) => s.id)],
      );
      started = new Map(rows.map((r) => [r.task_id, Number(r.s)]));
      if (started.size === sent.length) break;
      await sleep(50);
    }
    const samples = sent.slice(20).map((s) => started.get(s.id)! - s.returned);
    if (samples.some((s) => !Number.isFinite(s))) throw new Error('Switchyard latency: some tasks never started');
    recordLatency('switchyard', samples);
  } finally {
    await daemon.stop();
    await stack.close();
  }
}

async function latencyPeer(peer: PeerName): Promise<void> {
  const url = await freshDatabase('bench_peer');
  await setupPeer(peer, url);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/queue-peers.ts'), '--worker', peer, url], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const startedAt = new Map<number, bigint>();
  let buf = '';
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'ready') ready();
      else {
        const [i, t] = line.split(' ');
        startedAt.set(Number(i), BigInt(t!));
      }
    }
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const p = await producer(peer, url);
  try {
    await Promise.race([isReady, sleep(30_000).then(() => Promise.reject(new Error(`${peer} worker did not start: ${stderr.slice(-500)}`)))]);
    const returned: bigint[] = [];
    for (let i = 0; i < LAT_N + 20; i++) {
      await p.one(i);
      returned.push(process.hrtime.bigint());
      await sleep(20);
    }
    for (let tries = 0; tries < 200 && startedAt.size < LAT_N + 20; tries++) await sleep(50);
    const samples = returned.slice(20).map((r, k) => Number(startedAt.get(k + 20)! - r) / 1e6);
    if (samples.some((s) => !Number.isFinite(s))) throw new Error(`${peer} latency: some jobs never started`);
    recordLatency(peer, samples);
  } finally {
    await p.close();
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  }
}

function figures(): BenchFigure[] {
  const out: BenchFigure[] = [];
  const label: Record<System, string> = {
    switchyard: 'Switchyard',
    'switchyard-store': 'Switchyard (store insertTask, 1 tx)',
    'switchyard-http': 'Switchyard (POST /tasks, 10 clients)',
    ...PEER_LABEL,
  };
  const how: Record<string, Partial<Record<System, string>>> = {
    'bulk enqueue': { graphile: `addJobs, ${BULK_N} jobs in one call`, pgboss: `insert, ${BULK_N} jobs in one call`, 'switchyard-store': `${BULK_N} insertTask in one transaction`, 'switchyard-http': `${HTTP_N} POST /tasks, 10 concurrent clients in another process` },
    'one-at-a-time enqueue': { graphile: `addJob × ${ONE_N}`, pgboss: `send × ${ONE_N}`, switchyard: `sequential POST /tasks × ${ONE_N}` },
  };
  for (const [metric, bySystem] of results) {
    const unit = metric.startsWith('latency') ? 'ms' : 'jobs/s';
    // Enqueue is measured once for graphile-worker: both configurations share the producer.
    const peerMedian = (p: PeerName) => {
      const v = bySystem.get(p);
      return v ? summarize(v).median : undefined;
    };
    for (const [system, values] of bySystem) {
      const r = summarize(values);
      const isSy = system.startsWith('switchyard');
      let ratios: Record<string, number> | undefined;
      if (isSy) {
        ratios = {};
        for (const p of PEERS) {
          const m = peerMedian(p);
          if (m) ratios[PEER_LABEL[p]] = r.median / m;
        }
      }
      const note = [how[metric]?.[system], metric.startsWith('drain') && system === 'switchyard' ? 'each job is an agent process (/bin/true) spawned by a daemon process; timed from the daemon connecting' : undefined]
        .filter(Boolean)
        .join('; ');
      out.push(repeatedFigure('queue', `${metric}: ${label[system]}`, r, unit, { key: `${metric}|${system}`, ...(ratios ? { ratios } : {}), ...(note ? { note } : {}) }));
    }
  }
  return out;
}

say(`# queue benchmark on ${machine()}${quick ? ' (quick)' : ''}: ${REPS} repetition(s)`);
if (!hasPg) {
  say('queue: needs DATABASE_URL (PostgreSQL): graphile-worker and pg-boss run only on PostgreSQL, so the comparison is skipped.');
  report([], { skipped: ['queue (Switchyard vs graphile-worker vs pg-boss): needs DATABASE_URL'] });
} else {
  for (let rep = 1; rep <= REPS; rep++) {
    say(`repetition ${rep}/${REPS}`);
    if (ONLY.includes('enqueue')) {
      await enqueueSwitchyard();
      if (!SY_ONLY) for (const p of ['graphile', 'pgboss'] as const) await enqueuePeer(p);
    }
    if (ONLY.includes('drain')) {
      for (const n of DRAIN_NS) {
        if (n <= SY_DRAIN_MAX) await drainSwitchyard(n, rep === 1 ? PROFILE : undefined);
        else if (rep === 1) notes.push(`Switchyard's drain of ${n} was not run (over --sy-drain-max ${SY_DRAIN_MAX}): each job is an agent process, and at the 10k drain's rate it would take ${n / SY_DRAIN_MAX}× as long; the peers' ${n} drains are reported.`);
        if (!SY_ONLY) for (const p of PEERS) await drainOnePeer(p, n);
      }
    }
    if (ONLY.includes('latency')) {
      await latencySwitchyard();
      if (!SY_ONLY) for (const p of PEERS) await latencyPeer(p);
    }
  }
  await dropDatabase('bench_peer');
  await dropDatabase('bench_sy');
  report(figures(), { notes });
}
process.exit(0);

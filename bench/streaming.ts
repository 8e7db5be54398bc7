/**
 * Agent output at scale: N agents, each its own process started by a real
 * `switchyard daemon`, each writing 100 stamped lines per second; measured
 * at steady state (from 1 s after the last agent started, for W seconds):
 *
 *  - lines/s stored (rows the server's event writer inserted in the window,
 *    against N × 100 offered);
 *  - write → dashboard latency p50/p99: a dashboard in another process,
 *    subscribed to every stream (N ≤ 100) or to 100 of them (N > 100),
 *    receive time − the line's own timestamp;
 *  - the point where p99 passes 100 ms.
 *
 * The agent is a Perl loop (see PERL_STAMP in bench/common.ts): 500 Node
 * processes (test/fixtures/fake-agent.mjs, ~40 MB each) do not fit a
 * 2-core machine, and a single process pretending to be many agents would
 * skip the daemon's per-process work. Both databases: PGlite always,
 * PostgreSQL when DATABASE_URL is set.
 *
 * Usage: node --import tsx bench/streaming.ts [--quick] [--levels 10,100,500] [--pglite|--pg] [--seconds W]
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SwitchyardClient } from '../src/client/index.js';
import { dropDatabase, forkTs, hasPg, procStats, say, sleep, spawnDaemon, stampAgent, startSy, type BenchFigure } from './common.js';
import { args, config, machine, opt, quick, report } from './lib.js';

const LEVELS = (opt('--levels') ?? (quick ? '10,100' : '10,50,100,200,300,500')).split(',').map(Number);
const SECONDS = Number(opt('--seconds') ?? (quick ? 3 : 10));
const SAMPLE = 100;
const RATE = 100;

interface Level {
  streams: number;
  stored: number;
  offered: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  measured: number;
  startSpreadMs: number;
  running: number;
  daemonCpu: number;
  serverLoopP99: number;
}

async function level(backend: 'pglite' | 'postgres', n: number): Promise<Level> {
  const stack = await startSy(config({ workspace: { id: 'bench', max_concurrent: n } }), backend, 'bench_stream');
  const stopDir = mkdtempSync(join(tmpdir(), 'sy-bench-stop-'));
  const stopFile = join(stopDir, 'stop');
  const daemon = await spawnDaemon(stack.url, stack.daemonToken, {
    orchestrator: { agents: [stampAgent], runtime: { max_concurrent: n, cpu_threshold: 64, memory_threshold_mb: 1_000_000, health_check_interval: '5s' } },
  });
  const dash = forkTs('bench/stream-client.ts');
  try {
    await dash.ask({ cmd: 'connect', url: stack.url, token: stack.adminToken });
    const client = new SwitchyardClient({ url: stack.url, token: stack.adminToken, workspace: 'bench' });
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await client.tasks.create({ assignedAgent: 'stamp', prompt: `stop=${stopFile} rate=${RATE}` })).id);
    const watched = n <= SAMPLE ? ids : ids.filter((_, i) => i % Math.ceil(n / SAMPLE) === 0).slice(0, SAMPLE);
    await dash.ask({ cmd: 'subscribe', ids: watched });
    let starts: number[] = [];
    const startBy = performance.now() + 60_000 + n * 200;
    for (;;) {
      // Running now: the first attempt of each task (a claim that lapsed under load is retried as attempt 2).
      const r = await stack.db.query<{ s: number }>(
        `SELECT extract(epoch FROM r.started_at) * 1000 AS s FROM task_runs r JOIN tasks t ON t.id = r.task_id AND t.attempt = r.attempt
         WHERE r.task_id = ANY ($1::uuid[]) AND t.status = 'executing'`,
        [ids],
      );
      starts = r.rows.map((x) => Number(x.s));
      if (starts.length === n) break;
      if (performance.now() > startBy) {
        say(`  ${backend} ${n} streams: only ${starts.length} of ${n} agents running after ${((60_000 + n * 200) / 1000).toFixed(0)} s; measuring those`);
        break;
      }
      await sleep(100);
    }
    if (starts.length === 0) throw new Error(`no agent of ${n} started`);
    const from = Math.max(...starts) + 1000;
    const to = from + SECONDS * 1000;
    await dash.ask({ cmd: 'window', from, to });
    await sleep(Math.max(0, from - Date.now()));
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const stored = async () => Number((await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM task_events')).rows[0]!.n);
    const r0 = await stored();
    const c0 = procStats(daemon.pid).cpuMs;
    const t0 = performance.now();
    await sleep(Math.max(0, to - Date.now()));
    const r1 = await stored();
    const c1 = procStats(daemon.pid).cpuMs;
    const dt = (performance.now() - t0) / 1000;
    loop.disable();
    writeFileSync(stopFile, '');
    // Lines written before `to` may still be on their way: let them arrive before the report.
    await sleep(1500);
    const lat = await dash.ask<{ n: number; p50: number; p95: number; p99: number; max: number }>({ cmd: 'report' });
    for (let tries = 0; tries < 600; tries++) {
      const done = await stack.db.query<{ n: number }>(`SELECT count(*) AS n FROM tasks WHERE status = 'completed'`);
      if (Number(done.rows[0]!.n) >= n) break;
      await sleep(200);
    }
    const out: Level = {
      streams: n,
      stored: (r1 - r0) / dt,
      offered: n * RATE,
      ...lat,
      measured: lat.n,
      startSpreadMs: Math.max(...starts) - Math.min(...starts),
      running: starts.length,
      daemonCpu: (c1 - c0) / 10 / dt,
      serverLoopP99: loop.percentile(99) / 1e6,
    };
    say(
      `  ${backend} ${n} streams: stored ${out.stored.toFixed(0)}/s of ${out.offered} offered; line→dashboard p50 ${out.p50.toFixed(1)} p99 ${out.p99.toFixed(1)} max ${out.max.toFixed(0)} ms (${out.measured} lines); ` +
        `agents started over ${(out.startSpreadMs / 1000).toFixed(1)} s; daemon CPU ${out.daemonCpu.toFixed(0)}%; server event-loop delay p99 ${out.serverLoopP99.toFixed(1)} ms`,
    );
    return out;
  } finally {
    if (!existsSync(stopFile)) writeFileSync(stopFile, '');
    dash.send({ cmd: 'close' });
    await daemon.stop();
    await stack.close();
    rmSync(stopDir, { recursive: true, force: true });
  }
}

const figures: BenchFigure[] = [];
const skipped: string[] = [];
say(`# streaming benchmark on ${machine()}${quick ? ' (quick)' : ''}: ${LEVELS.join(' / ')} agents × ${RATE} lines/s, ${SECONDS} s windows`);
const backends: ('pglite' | 'postgres')[] = args.includes('--pglite') ? ['pglite'] : args.includes('--pg') ? ['postgres'] : hasPg ? (quick ? ['postgres'] : ['pglite', 'postgres']) : ['pglite'];
if (!hasPg && !args.includes('--pglite')) {
  say('streaming on PostgreSQL: needs DATABASE_URL; measuring PGlite only.');
  skipped.push('streaming on PostgreSQL: needs DATABASE_URL');
}
for (const backend of backends) {
  const results: Level[] = [];
  for (const n of LEVELS) {
    // Past the level where storage fell behind, more agents only measure a backlog
    // (on the embedded database 300 agents starved the claims of every one of them).
    const behind = results.find((x) => x.stored < 0.9 * x.offered);
    if (behind) {
      skipped.push(`streaming at ${n} agents on ${backend}: not measured, storage already fell behind at ${behind.streams} agents (${behind.stored.toFixed(0)} of ${behind.offered} lines/s stored)`);
      continue;
    }
    let r: Level;
    try {
      r = await level(backend, n);
    } catch (err) {
      skipped.push(`streaming at ${n} agents on ${backend}: ${(err as Error).message}`);
      break;
    }
    results.push(r);
    const sampled = n > SAMPLE ? `; dashboard subscribed to ${SAMPLE} of the ${n} streams` : '';
    figures.push(
      { bench: 'streaming', figure: `lines stored/s, ${n} agents × ${RATE}/s (${backend})`, value: r.stored, unit: 'lines/s', note: `${r.offered} offered${r.running < n ? `; ONLY ${r.running} of ${n} agents were running (claims lapsed under load)` : ''}; agents are Perl processes under a real daemon; daemon CPU ${r.daemonCpu.toFixed(0)}% of a core` } as BenchFigure,
      { bench: 'streaming', figure: `line→dashboard p50, ${n} agents (${backend})`, value: r.p50, unit: 'ms' },
      { bench: 'streaming', figure: `line→dashboard p99, ${n} agents (${backend})`, value: r.p99, unit: 'ms', note: `${r.measured} lines in ${SECONDS} s at steady state${sampled}; server event-loop delay p99 ${r.serverLoopP99.toFixed(1)} ms` },
    );
  }
  const over = results.find((r) => r.p99 > 100);
  const under = [...results].reverse().find((r) => r.p99 <= 100 && (!over || r.streams < over.streams));
  figures.push({
    bench: 'streaming',
    figure: `p99 passes 100 ms at (${backend})`,
    value: over ? over.streams : NaN,
    unit: 'agents',
    note: over ? `p99 ≤ 100 ms up to ${under ? under.streams : 'none'} agents, ${over.p99.toFixed(0)} ms at ${over.streams}` : `p99 stayed ≤ 100 ms up to ${LEVELS[LEVELS.length - 1]} agents (the most measured)`,
  });
}
if (hasPg) await dropDatabase('bench_stream');
report(figures, { skipped });
process.exit(0);

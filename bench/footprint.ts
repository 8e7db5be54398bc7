/**
 * What Switchyard costs to keep running:
 *  1. a `switchyard daemon` process (the compiled CLI): RSS and CPU idle,
 *     and with 10 / 50 agents streaming 100 lines/s each (the Perl agent of
 *     bench/streaming.ts; the daemon's own process only, not its agents);
 *  2. a `switchyard serve` process (embedded database): RSS idle, and with
 *     100 daemons and 1,000 dashboard sockets connected (simulated clients
 *     on loopback speaking the protocol: hello + heartbeats for daemons, auth
 *     + a workspace subscription for dashboards);
 *  3. cold start of `switchyard up` to /healthz answering, on a fresh data
 *     folder and on an existing one (median of 3; the "up" banner, i.e. the
 *     local daemon connected too, as a second figure).
 *
 * Usage: node --import tsx bench/footprint.ts [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { SwitchyardClient } from '../src/client/index.js';
import { PROTOCOL_VERSION } from '../src/core/protocol.js';
import { freePort, procStats, repeatedFigure, say, sleep, spawnDaemon, stampAgent, summarize, type BenchFigure } from './common.js';
import { CLI, config, machine, quick, report, startBenchServer } from './lib.js';

const WINDOW = quick ? 3_000 : 10_000;
const figures: BenchFigure[] = [];

/** Peak and mean RSS and CPU % of a process over `ms`. */
async function sample(pid: number, ms: number): Promise<{ rssPeak: number; rssMean: number; cpu: number }> {
  const s0 = procStats(pid);
  const t0 = performance.now();
  const rss: number[] = [];
  while (performance.now() - t0 < ms) {
    rss.push(procStats(pid).rssMb);
    await sleep(250);
  }
  const s1 = procStats(pid);
  const dt = performance.now() - t0;
  return { rssPeak: Math.max(...rss), rssMean: rss.reduce((a, b) => a + b, 0) / rss.length, cpu: ((s1.cpuMs - s0.cpuMs) / dt) * 100 };
}

async function daemonFootprint(): Promise<void> {
  const levels = [0, 10, 50];
  const max = Math.max(...levels);
  const stack = await startBenchServer(config({ workspace: { id: 'bench', max_concurrent: max } }), 'pglite');
  const daemon = await spawnDaemon(stack.url, stack.daemonToken, {
    orchestrator: { agents: [stampAgent], runtime: { max_concurrent: max, cpu_threshold: 64, memory_threshold_mb: 1_000_000 } },
  });
  const stopDir = mkdtempSync(join(tmpdir(), 'sy-bench-stop-'));
  const client = new SwitchyardClient({ url: stack.url, token: stack.adminToken, workspace: 'bench' });
  try {
    await sleep(quick ? 1_000 : 2_000); // past start-up
    const running: string[] = [];
    for (const n of levels) {
      const stopFile = join(stopDir, `stop-${n}`);
      for (let i = running.length; i < n; i++) running.push((await client.tasks.create({ assignedAgent: 'stamp', prompt: `stop=${stopFile} rate=100` })).id);
      if (n > 0) {
        for (let tries = 0; tries < 600; tries++) {
          const r = await stack.db.query<{ n: number }>(`SELECT count(*) AS n FROM tasks WHERE status = 'executing' AND id = ANY ($1::uuid[])`, [running]);
          if (Number(r.rows[0]!.n) === n) break;
          await sleep(100);
        }
        await sleep(1_000);
      }
      const s = await sample(daemon.pid, WINDOW);
      const what = n === 0 ? 'idle (connected, no runs)' : `${n} agents × 100 lines/s`;
      say(`  daemon ${what}: RSS peak ${s.rssPeak.toFixed(1)} MB, mean ${s.rssMean.toFixed(1)} MB; CPU ${s.cpu.toFixed(1)}% of a core`);
      figures.push(
        { bench: 'footprint', figure: `daemon RSS, ${what}`, value: s.rssPeak, unit: 'MB', note: `peak over ${WINDOW / 1000} s (mean ${s.rssMean.toFixed(1)}); the daemon process only, not its agents` },
        { bench: 'footprint', figure: `daemon CPU, ${what}`, value: s.cpu, unit: '% of a core' },
      );
      // Agents of this level keep running into the next one (10 → 50 adds 40).
    }
    for (const n of levels) writeFileSync(join(stopDir, `stop-${n}`), '');
  } finally {
    await daemon.stop();
    await stack.close();
    rmSync(stopDir, { recursive: true, force: true });
  }
}

interface ServeProc {
  proc: ChildProcess;
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** `switchyard up|serve` on `dataDir`; resolves when /healthz answers (and, with `waitBanner`, when it printed it is up). */
async function startCli(cmd: 'up' | 'serve', dataDir: string, waitBanner: boolean): Promise<ServeProc & { healthyMs: number; bannerMs: number }> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'sy-bench-cwd-'));
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_LOG_FORMAT: 'json', SWITCHYARD_LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL; // the embedded database
  delete env.SWITCHYARD_CONFIG;
  const t0 = performance.now();
  const proc = spawn(process.execPath, [CLI, cmd, '--data-dir', dataDir, '--port', String(port)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let bannerMs = NaN;
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    if (Number.isNaN(bannerMs) && out.includes('Switchyard is up')) bannerMs = performance.now() - t0;
  });
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  let healthyMs: number;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`switchyard ${cmd} exited: ${out.slice(-1500)}`);
    if (performance.now() - t0 > 120_000) throw new Error(`switchyard ${cmd} not healthy after 120 s: ${out.slice(-1500)}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) {
        healthyMs = performance.now() - t0;
        break;
      }
    } catch {
      // not listening yet
    }
    await sleep(5);
  }
  while (waitBanner && Number.isNaN(bannerMs)) {
    if (performance.now() - t0 > 120_000) throw new Error(`switchyard ${cmd} never said it is up: ${out.slice(-1500)}`);
    await sleep(5);
  }
  return {
    proc,
    url,
    dataDir,
    healthyMs,
    bannerMs,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        proc.once('exit', () => {
          clearTimeout(kill);
          rmSync(cwd, { recursive: true, force: true });
          r();
        });
        proc.kill('SIGTERM');
      }),
  };
}

async function serverFootprint(): Promise<void> {
  const DAEMONS = 100;
  const DASHBOARDS = 1_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-bench-serve-'));
  const srv = await startCli('serve', dataDir, true);
  const sockets: WebSocket[] = [];
  try {
    const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const admin = new SwitchyardClient({ url: srv.url, token: adminToken });
    const daemonToken = (await admin.tokens.createInstance({ role: 'daemon', name: 'bench daemons' })).token;
    await sleep(quick ? 1_000 : 2_000);
    const idle = await sample(srv.proc.pid!, WINDOW);
    say(`  server idle: RSS ${idle.rssPeak.toFixed(1)} MB, CPU ${idle.cpu.toFixed(1)}%`);
    const open = (url: string, headers?: Record<string, string>) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url, headers ? { headers } : {});
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    const wsUrl = srv.url.replace(/^http/, 'ws');
    for (let i = 0; i < DAEMONS; i++) {
      const ws = await open(`${wsUrl}/api/v1/daemon/connect`, { authorization: `Bearer ${daemonToken}` });
      const welcomed = new Promise<void>((r) => ws.once('message', () => r()));
      ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, daemonId: randomUUID(), name: `sim-${i}`, hostname: `sim-${i}`, version: 'bench', capacity: 4, agents: [{ name: 'claude', binary: '/usr/bin/claude', version: '1.0.0', status: 'ok', reason: null }], running: [], pending: [] }));
      await welcomed;
      sockets.push(ws);
    }
    const workspace = (await admin.workspaces.list()).items[0]?.id ?? 'default';
    for (let i = 0; i < DASHBOARDS; i++) {
      const ws = await open(`${wsUrl}/api/v1/stream`);
      const ready = new Promise<void>((r) => ws.once('message', () => r()));
      ws.send(JSON.stringify({ type: 'auth', token: adminToken }));
      await ready;
      ws.send(JSON.stringify({ type: 'subscribe', workspaceId: workspace }));
      sockets.push(ws);
    }
    await sleep(quick ? 1_000 : 3_000);
    const loaded = await sample(srv.proc.pid!, WINDOW);
    say(`  server with ${DAEMONS} daemons + ${DASHBOARDS} dashboards: RSS ${loaded.rssPeak.toFixed(1)} MB, CPU ${loaded.cpu.toFixed(1)}%`);
    figures.push(
      { bench: 'footprint', figure: 'server RSS, idle (switchyard serve, embedded database)', value: idle.rssPeak, unit: 'MB' },
      { bench: 'footprint', figure: 'server CPU, idle', value: idle.cpu, unit: '% of a core' },
      { bench: 'footprint', figure: `server RSS, ${DAEMONS} daemons + ${DASHBOARDS} dashboard sockets`, value: loaded.rssPeak, unit: 'MB', note: `+${(loaded.rssPeak - idle.rssPeak).toFixed(1)} MB over idle, ${(((loaded.rssPeak - idle.rssPeak) * 1024) / (DAEMONS + DASHBOARDS)).toFixed(1)} KB per socket; simulated clients on loopback` },
      { bench: 'footprint', figure: `server CPU, ${DAEMONS} daemons + ${DASHBOARDS} dashboard sockets`, value: loaded.cpu, unit: '% of a core', note: 'heartbeats only' },
    );
  } finally {
    for (const ws of sockets) ws.terminate();
    await srv.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function coldStart(): Promise<void> {
  const reps = quick ? 1 : 3;
  const fresh: number[] = [];
  const freshBanner: number[] = [];
  const existing: number[] = [];
  const existingBanner: number[] = [];
  for (let i = 0; i < reps; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-bench-up-'));
    try {
      const a = await startCli('up', dataDir, true);
      fresh.push(a.healthyMs);
      freshBanner.push(a.bannerMs);
      await a.stop();
      const b = await startCli('up', dataDir, true);
      existing.push(b.healthyMs);
      existingBanner.push(b.bannerMs);
      await b.stop();
      say(`  up: fresh ${a.healthyMs.toFixed(0)} ms (banner ${a.bannerMs.toFixed(0)}), existing ${b.healthyMs.toFixed(0)} ms (banner ${b.bannerMs.toFixed(0)})`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const note = 'spawn of `node bin/switchyard.mjs up` → GET /healthz 200 (polled every 5 ms); embedded database';
  figures.push(
    repeatedFigure('footprint', 'switchyard up → healthy, fresh data dir', summarize(fresh), 'ms', { note }),
    repeatedFigure('footprint', 'switchyard up → healthy, existing data dir', summarize(existing), 'ms', { note }),
    repeatedFigure('footprint', 'switchyard up → "is up" banner (local daemon connected), fresh data dir', summarize(freshBanner), 'ms'),
    repeatedFigure('footprint', 'switchyard up → "is up" banner, existing data dir', summarize(existingBanner), 'ms'),
  );
}

say(`# footprint on ${machine()}${quick ? ' (quick)' : ''}`);
await daemonFootprint();
await serverFootprint();
await coldStart();
report(figures);
process.exit(0);

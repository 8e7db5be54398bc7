/**
 * Helpers shared by the suite's newer benchmarks (queue, streaming,
 * footprint, scale) on top of bench/lib.ts: fresh PostgreSQL databases per
 * measurement, a daemon child process whose connection time is known to the
 * millisecond, /proc readings, repetitions with their spread, and a query
 * tracer (bench-only instrumentation of node-postgres).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import type { SwitchyardClient } from '../src/client/index.js';
import type { Orchestrator } from '../src/core/config/index.js';
import { CLI, ROOT, startBenchServer, type BenchStack, type Figure } from './lib.js';

export const hasPg = Boolean(process.env.DATABASE_URL);

/** The same server as DATABASE_URL, another database on it. */
export function pgUrl(database: string): string {
  const u = new URL(process.env.DATABASE_URL!);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Drops and recreates `name` (always a bench_* database: never the tests' or anyone else's). */
export async function freshDatabase(name: string): Promise<string> {
  if (!/^bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to recreate ${name}: bench databases are named bench_*`);
  const admin = new pg.Client({ connectionString: pgUrl('postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return pgUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  if (!/^bench_[a-z0-9_]+$/.test(name)) return;
  const admin = new pg.Client({ connectionString: pgUrl('postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** startBenchServer (pool of 12) on a fresh PostgreSQL database `dbName`, or on a fresh PGlite folder. */
export async function startSy(cfg: Orchestrator, backend: 'pglite' | 'postgres', dbName = 'bench_sy'): Promise<BenchStack> {
  if (backend === 'pglite') return startBenchServer(cfg, 'pglite');
  const url = await freshDatabase(dbName);
  const saved = process.env.DATABASE_URL;
  process.env.DATABASE_URL = url;
  const started = startBenchServer(cfg, 'postgres'); // reads DATABASE_URL synchronously
  process.env.DATABASE_URL = saved;
  return started;
}

export interface DaemonChild {
  proc: ChildProcess;
  pid: number;
  /** performance.now() when the daemon logged that it is connected. */
  connectedAt: number;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A `switchyard daemon` child process (the compiled CLI, as users run it),
 * resolved the moment it logs its connection. `prof` = a folder for
 * --cpu-prof output (also honoured: SY_DAEMON_PROF).
 */
export async function spawnDaemon(url: string, token: string, yamlConfig: Record<string, unknown>, opts: { name?: string; prof?: string; keepLog?: boolean } = {}): Promise<DaemonChild> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-daemon-'));
  writeFileSync(join(dir, 'config.yaml'), stringify(yamlConfig));
  const profDir = opts.prof ?? process.env.SY_DAEMON_PROF;
  const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const proc = spawn(process.execPath, [...prof, CLI, 'daemon', '--url', url, '--token', token, '--config', join(dir, 'config.yaml'), '--state-dir', dir, '--name', opts.name ?? 'bench'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The default level (info), as JSON: what a daemon logs in production.
    env: { ...process.env, SWITCHYARD_LOG_FORMAT: 'json', SWITCHYARD_LOG_LEVEL: 'info' },
  });
  let out = '';
  let connectedAt = 0;
  let onConnected: (() => void) | undefined;
  const keep = (c: Buffer) => {
    out += c.toString();
    if (!connectedAt && out.includes('"connected to server"')) {
      connectedAt = performance.now();
      onConnected?.();
    }
    // Only the start matters (and errors); do not hold a long run's log in memory.
    if (!opts.keepLog && out.length > 200_000) out = out.slice(-20_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not connect: ${out.slice(-1000)}`)), 30_000);
    const onExit = () => {
      clearTimeout(timer);
      reject(new Error(`daemon exited: ${out.slice(-1000)}`));
    };
    onConnected = () => {
      clearTimeout(timer);
      proc.off('exit', onExit);
      resolve();
    };
    proc.once('exit', onExit);
  });
  return {
    proc,
    pid: proc.pid!,
    connectedAt,
    log: () => out,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 20_000);
        proc.once('exit', () => {
          clearTimeout(kill);
          r();
        });
        proc.kill('SIGTERM');
      }),
  };
}

/** Resident set size (MiB) and CPU time (ms, user+system) of a process, from /proc. */
export function procStats(pid: number): { rssMb: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
  return { rssMb: rssKb / 1024, cpuMs: (ticks * 1000) / 100 };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Steady state of a streaming run: half a second after the last of the tasks'
 * agents started (polls until every task has a run). Lines stamped before it
 * belong to the start-up ramp and are not measured.
 */
export async function steadyStateFrom(client: SwitchyardClient, taskIds: readonly string[]): Promise<number> {
  for (;;) {
    const runs = await Promise.all(taskIds.map(async (id) => (await client.tasks.runs(id)).items[0]));
    if (runs.every((r) => r)) return Math.max(...runs.map((r) => Date.parse(r!.startedAt))) + 500;
    await sleep(100);
  }
}

/**
 * Dispatch latency of one task: from the creating POST's answer (`created`,
 * creating with `creator`) to its agent's start, read once the run has ended
 * (from `reader`, which may be another server).
 */
export async function dispatchMs(creator: SwitchyardClient, reader: SwitchyardClient, prompt: string): Promise<number> {
  const t = await creator.tasks.create({ assignedAgent: 'noop', prompt });
  const returned = Date.now();
  for (;;) {
    const run = (await reader.tasks.runs(t.id)).items[0];
    if (run?.endedAt) return Date.parse(run.startedAt) - returned;
    await sleep(2);
  }
}

/** Waits until every one of the tasks is completed, or the time is up (a bench reports what it got). */
export async function untilCompleted(client: SwitchyardClient, taskIds: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && taskIds.length > 0) {
    const done = await client.tasks.list({ status: 'completed', limit: 500 });
    if (done.items.filter((t) => taskIds.includes(t.id)).length >= taskIds.length) return;
    await sleep(250);
  }
}

export interface Repeated {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function summarize(values: number[]): Repeated {
  const s = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN, values };
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, values };
}

/** A figure whose value is the median of repetitions, with the spread in its note and fields. */
export interface BenchFigure extends Figure {
  /** Stable key for ratios: `<metric>|<system>`. */
  key?: string;
  min?: number;
  max?: number;
  runs?: number;
  /** Switchyard ÷ peer, by peer name. */
  ratios?: Record<string, number>;
}

export function repeatedFigure(bench: string, figure: string, r: Repeated, unit: string, extra: Partial<BenchFigure> = {}): BenchFigure {
  const digits = r.median < 10 ? 2 : r.median < 100 ? 1 : 0;
  const spread = r.values.length > 1 ? `median of ${r.values.length}: ${r.values.map((v) => v.toFixed(digits)).join(' / ')}` : '1 run';
  return { bench, figure, value: r.median, unit, min: r.min, max: r.max, runs: r.values.length, ...extra, note: extra.note ? `${extra.note}; ${spread}` : spread };
}

/** Counts and times every statement node-postgres sends (bench-only tracing; off unless started). */
export function traceQueries(): { stop(): Map<string, { n: number; ms: number }> } {
  const stats = new Map<string, { n: number; ms: number }>();
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...a: unknown[]) {
    const first = a[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 90);
    const t0 = performance.now();
    const done = () => {
      const s = stats.get(key) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += performance.now() - t0;
      stats.set(key, s);
    };
    // pg.Pool#query calls client.query with a callback (no promise returned).
    const cb = a[a.length - 1];
    if (typeof cb === 'function') {
      a[a.length - 1] = (...r: unknown[]) => {
        done();
        return (cb as (...x: unknown[]) => unknown)(...r);
      };
      return original.apply(this, a);
    }
    const r = original.apply(this, a);
    if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(done, done);
    return r;
  };
  return {
    stop() {
      proto.query = original;
      return stats;
    },
  };
}

/** Writes a line to stdout at once (progress of long benchmarks). */
export function say(s: string): void {
  process.stdout.write(`${s}\n`);
}

export interface BenchOutput {
  machine: string;
  date: string;
  figures: BenchFigure[];
  /** Parts left out, and why (e.g. PostgreSQL-only parts without DATABASE_URL). */
  skipped?: string[];
  /** Free text for the report (profiles, plans). */
  notes?: string[];
}

/** Runs a TypeScript file of bench/ in a child process (tsx), returning its stdout. */
export function runTs(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, file), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs) : undefined;
    p.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${file} exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

/**
 * The lightest real agent process that writes timestamped lines at a steady
 * rate: a Perl loop (about 4 MB resident, no runtime to boot). It writes
 * "line <i> t=<epoch ms>" at `rate` lines per second on a fixed schedule
 * (no drift), unbuffered, and exits at the first whole second at which the
 * file named in its prompt ("stop=<path> rate=<n>") exists.
 */
export const PERL_STAMP = [
  'my ($stop) = $ARGV[0] =~ /stop=(\\S+)/; my ($rate) = $ARGV[0] =~ /rate=(\\d+)/; $rate ||= 100;',
  '$| = 1; my $t0 = time; my $i = 0;',
  'while (1) { $i++; printf "line %d t=%.3f\\n", $i, time * 1000;',
  '  last if $i % $rate == 0 && -e $stop;',
  '  my $d = $t0 + $i / $rate - time; sleep($d) if $d > 0; }',
].join('\n');
export const stampAgent = { name: 'stamp', binary: '/usr/bin/perl', args: ['-MTime::HiRes=time,sleep', '-e', PERL_STAMP, '{prompt}'], version_args: [] };

/** A bench/*.ts child with an IPC channel: `ask` sends a message and resolves with the next reply. */
export function forkTs(file: string): { ask<T = Record<string, unknown>>(m: unknown): Promise<T>; send(m: unknown): void; child: ChildProcess } {
  const child = fork(join(ROOT, file), [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: ((m: unknown) => void)[] = [];
  child.on('message', (m) => waiting.shift()?.(m));
  return {
    child,
    send: (m) => child.send(m as object),
    ask: <T>(m: unknown) =>
      new Promise<T>((resolve, reject) => {
        waiting.push((r) => ((r as { error?: string }).error ? reject(new Error((r as { error: string }).error)) : resolve(r as T)));
        child.send(m as object);
      }),
  };
}


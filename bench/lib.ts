/**
 * Shared pieces of the benchmark scripts: starting a real server on either
 * database, percentiles, and printing (common.ts: a daemon as a separate
 * process, bench databases, the suite's output format).
 * Benchmarks print numbers; they never assert on them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { stringify } from 'yaml';
import { parseConfig, type Orchestrator } from '../src/core/config/index.js';
import { applyWorkspaceConfig } from '../src/server/bootstrap.js';
import { createServer, type Server } from '../src/server/index.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open.js';
import { ensureAuditPartitions, ensureEventPartitions } from '../src/store/partitions.js';
import { createToken } from '../src/store/tokens.js';
import { SwitchyardClient } from '../src/client/index.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const FAKE_AGENT = join(ROOT, 'test/fixtures/fake-agent.mjs');
export const CLI = join(ROOT, 'bin/switchyard.mjs');

export const args = process.argv.slice(2);
export const quick = args.includes('--quick');
/** The value after a `--name` flag of the command line, if given. */
export const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
export const backendArg = (): 'pglite' | 'postgres' => (args.includes('--pg') || (process.env.DATABASE_URL && !args.includes('--pglite')) ? 'postgres' : 'pglite');

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function machine(): string {
  return `${cpus().length}x ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function config(extra: Record<string, unknown> = {}, agents: Record<string, unknown>[] = []): Orchestrator {
  const r = parseConfig(stringify({ orchestrator: { runtime: { daemon_port: 0, health_check_interval: '5s', ...(extra.runtime as object) }, agents, streaming: { ...(extra.streaming as object) }, ...(extra.workspace ? { workspace: extra.workspace } : {}) } }), process.env);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

export interface BenchStack {
  url: string;
  db: Db;
  server: Server;
  admin: SwitchyardClient;
  adminToken: string;
  daemonToken: string;
  backend: string;
  close(): Promise<void>;
}

export async function startBenchServer(cfg: Orchestrator, backend = backendArg()): Promise<BenchStack> {
  const db =
    backend === 'postgres'
      ? await openStore({ kind: 'postgres', connection: { connectionString: process.env.DATABASE_URL!, max: 12 }, describe: 'bench' })
      : await openStore({ kind: 'pglite', dataDir: mkdtempSync(join(tmpdir(), 'sy-bench-')) });
  if (backend === 'postgres') {
    // A clean schema per run, so figures do not depend on earlier runs' rows.
    await db.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public; CREATE EXTENSION IF NOT EXISTS vector');
  }
  await migrate(db);
  await ensureEventPartitions(db);
  await ensureAuditPartitions(db);
  const defaultWorkspace = await applyWorkspaceConfig(db, cfg);
  const adminToken = (await createToken(db, { role: 'admin', name: 'bench', workspaceId: null })).token;
  const daemonToken = (await createToken(db, { role: 'daemon', name: 'bench', workspaceId: null })).token;
  const server = await createServer({ db, config: cfg, log: pino({ level: 'warn' }), version: 'bench', defaultWorkspace });
  const url = await server.listen(0, '127.0.0.1');
  return {
    url,
    db,
    server,
    adminToken,
    daemonToken,
    admin: new SwitchyardClient({ url, token: adminToken }),
    backend,
    async close() {
      await server.close();
      await db.close();
    },
  };
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

export interface Figure {
  bench: string;
  figure: string;
  value: number;
  unit: string;
  note?: string;
}

/**
 * Prints the figures (with their ratios against peers, if any, and the parts
 * left out) and writes them to SWITCHYARD_BENCH_OUT for bench/run-all.ts.
 */
export function report(figures: readonly (Figure & { ratios?: Record<string, number> })[], extra: { skipped?: string[]; notes?: string[] } = {}): void {
  const w = Math.max(10, ...figures.map((f) => f.figure.length));
  for (const f of figures) {
    const digits = Math.abs(f.value) < 10 ? 2 : Math.abs(f.value) < 100 ? 1 : 0;
    const ratios = f.ratios ? `  [${Object.entries(f.ratios).map(([p, r]) => `÷ ${p}: ${r.toFixed(2)}`).join(', ')}]` : '';
    process.stdout.write(`${f.figure.padEnd(w)}  ${fmt(f.value, digits).padStart(10)} ${f.unit}${f.note ? `   (${f.note})` : ''}${ratios}\n`);
  }
  for (const s of extra.skipped ?? []) process.stdout.write(`SKIPPED: ${s}\n`);
  if (process.env.SWITCHYARD_BENCH_OUT) writeFileSync(process.env.SWITCHYARD_BENCH_OUT, JSON.stringify({ machine: machine(), date: new Date().toISOString(), figures, ...extra }, null, 2));
}

/**
 * `npm run bench [-- --quick]`: runs every benchmark of bench/ one after
 * another (never two at once: they would measure each other), collects
 * their SWITCHYARD_BENCH_OUT JSON and writes bench/results.json and
 * bench/results.md (every figure with its machine and date, the ratios
 * against graphile-worker and pg-boss, the profiles and query plans, and
 * what was left out and why).
 *
 * PostgreSQL parts run when DATABASE_URL is set; every benchmark then works
 * in its own bench_* database on that server (created and dropped here),
 * never in the database DATABASE_URL names. Without it they say so and are
 * listed as left out, not reported as zero.
 *
 * Usage: node --import tsx bench/run-all.ts [--quick] [--only queue,streaming,…] [--profile] [--out DIR] [--merge]
 *   --merge     keep the other benchmarks' results of the report in DIR and
 *               replace only those run now (after fixing one that failed)
 *   --profile   also profile a Switchyard drain (server and daemon --cpu-prof,
 *               statements per task); on by default for full runs
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropDatabase, freshDatabase, hasPg, type BenchFigure, type BenchOutput } from './common.js';
import { args, machine, opt, quick, ROOT } from './lib.js';

const only = opt('--only')?.split(',');
const outDir = opt('--out') ?? join(ROOT, 'bench');
const profile = args.includes('--profile') || (!quick && !args.includes('--no-profile'));

interface Step {
  name: string;
  file: string;
  args: string[];
  /** A bench_* database to hand the script as DATABASE_URL (scripts that take DATABASE_URL's database for their own). */
  ownDb?: string;
  /** Only when DATABASE_URL is set. */
  pgOnly?: boolean;
  timeoutS: number;
  /** Figures are not part of the report (profiling run). */
  notesOnly?: boolean;
}

const q = quick ? ['--quick'] : [];
const steps: Step[] = [
  { name: 'queue', file: 'bench/queue.ts', args: q, timeoutS: quick ? 150 : 4 * 3600 },
  // The queue bench measures dispatch latency on PostgreSQL already; the embedded database's is for full runs.
  ...(quick ? [] : [{ name: 'dispatch (PGlite)', file: 'bench/dispatch.ts', args: ['--pglite'], timeoutS: 900 }]),
  ...(quick ? [] : [{ name: 'dispatch (PostgreSQL)', file: 'bench/dispatch.ts', args: ['--pg'], ownDb: 'bench_dispatch', pgOnly: true, timeoutS: 900 }]),
  { name: 'streaming', file: 'bench/streaming.ts', args: q, timeoutS: quick ? 150 : 3600 },
  { name: 'footprint', file: 'bench/footprint.ts', args: q, timeoutS: quick ? 150 : 1800 },
  { name: 'scale', file: 'bench/scale.ts', args: q, timeoutS: quick ? 150 : 1800 },
  // Full runs only: it costs half a minute and is a property of the deployment, not of one process.
  ...(quick ? [] : [{ name: 'scale-out', file: 'bench/scaleOut.ts', args: [], pgOnly: true, timeoutS: 900 }]),
  { name: 'audit', file: 'bench/audit.ts', args: q, timeoutS: quick ? 120 : 900 },
  { name: 'skills-quality', file: 'bench/skills-quality.ts', args: q, ownDb: 'bench_skills', timeoutS: quick ? 150 : 1800 },
  { name: 'skills-speed', file: 'bench/skills-speed.ts', args: q, ownDb: 'bench_skills', timeoutS: quick ? 150 : 5400 },
  ...(profile ? [{ name: 'profile (Switchyard drain)', file: 'bench/queue.ts', args: ['--only', 'drain', '--drain', quick ? '500' : '3000', '--reps', '1', '--switchyard-only', '--trace-sql', '--profile', '<profdir>'], pgOnly: true, notesOnly: true, timeoutS: 1800 }] : []),
];

interface StepResult {
  name: string;
  file: string;
  args: string[];
  ok: boolean;
  seconds: number;
  error?: string;
  output?: BenchOutput;
}

function git(...a: string[]): string {
  try {
    return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function run(step: Step, profDir: string): Promise<StepResult> {
  return new Promise((resolve) => {
    const tmp = mkdtempSync(join(tmpdir(), 'sy-bench-out-'));
    const out = join(tmp, 'out.json');
    const stepArgs = step.args.map((a) => (a === '<profdir>' ? profDir : a));
    void (async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_BENCH_OUT: out };
      if (step.ownDb && hasPg) env.DATABASE_URL = await freshDatabase(step.ownDb);
      const t0 = performance.now();
      process.stdout.write(`\n=== ${step.name}: node --import tsx ${step.file} ${stepArgs.join(' ')}\n`);
      const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, step.file), ...stepArgs], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let tail = '';
      const keep = (c: Buffer, to: NodeJS.WriteStream) => {
        const s = c.toString();
        // Benchmarks print results and progress; JSON log lines of children are noise here.
        const shown = s
          .split('\n')
          .filter((l) => !l.startsWith('{"level"') && !l.includes('EBADENGINE') && !l.startsWith('npm warn'))
          .join('\n');
        if (shown.trim()) to.write(shown.endsWith('\n') ? shown : `${shown}\n`);
        tail = (tail + s).slice(-4000);
      };
      p.stdout.on('data', (c: Buffer) => keep(c, process.stdout));
      p.stderr.on('data', (c: Buffer) => keep(c, process.stderr));
      const timer = setTimeout(() => {
        process.stdout.write(`=== ${step.name}: over its ${step.timeoutS} s limit, stopped\n`);
        p.kill('SIGKILL');
      }, step.timeoutS * 1000);
      p.on('exit', (code, signal) => {
        clearTimeout(timer);
        const seconds = (performance.now() - t0) / 1000;
        let output: BenchOutput | undefined;
        if (existsSync(out)) output = JSON.parse(readFileSync(out, 'utf8')) as BenchOutput;
        rmSync(tmp, { recursive: true, force: true });
        const ok = code === 0 && output !== undefined;
        process.stdout.write(`=== ${step.name}: ${ok ? 'done' : 'FAILED'} in ${seconds.toFixed(0)} s\n`);
        resolve({ name: step.name, file: step.file, args: stepArgs, ok, seconds, ...(ok ? {} : { error: `exit ${code ?? signal}: ${tail.split('\n').filter((l) => !l.startsWith('{"level"')).slice(-8).join('\n')}` }), ...(output ? { output } : {}) });
      });
    })();
  });
}

const fmt = (v: number): string => {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return a >= 1000 ? Math.round(v).toLocaleString('en-US') : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
};
const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

function markdown(results: StepResult[], meta: Record<string, string>): string {
  const lines: string[] = [];
  lines.push('# Switchyard benchmarks', '');
  lines.push(`Generated by \`npm run bench${quick ? ' -- --quick' : ''}\` (bench/run-all.ts). Absolute figures depend on the machine and on what else runs on it; the ratios against the peers are measured side by side in the same run, on the same PostgreSQL.`, '');
  for (const [k, v] of Object.entries(meta)) lines.push(`- **${k}**: ${v}`);
  lines.push('');

  const findings = join(ROOT, 'bench/findings.md');
  if (existsSync(findings)) lines.push(readFileSync(findings, 'utf8').trim(), '');

  const queue = results.find((r) => r.name === 'queue')?.output?.figures ?? [];
  if (queue.length) {
    lines.push('## Switchyard against graphile-worker and pg-boss', '');
    lines.push('Same PostgreSQL, each on its own fresh database, concurrency 10, pool 12, no-op work; median of the repetitions (spread in the full table). Ratio = Switchyard ÷ peer: above 1 is better for throughput (jobs/s), below 1 is better for latency (ms). Each Switchyard job is a real agent process (`/bin/true`) started by a `switchyard daemon` process; the peers\' jobs are function calls.', '');
    const peers = ['graphile-worker', 'graphile-worker (localQueue 500)', 'pg-boss (batch 50)'];
    lines.push(`| figure | Switchyard | unit | ${peers.map((p) => `${p}`).join(' | ')} | ${peers.map((p) => `÷ ${p}`).join(' | ')} |`);
    lines.push(`|---|---:|---|${peers.map(() => '---:').join('|')}|${peers.map(() => '---:').join('|')}|`);
    const peerValue = (metric: string, label: string) => queue.find((f) => f.figure === `${metric}: ${label}`)?.value;
    for (const f of queue.filter((x) => x.ratios)) {
      const metric = f.figure.slice(0, f.figure.indexOf(':'));
      const who = f.figure.slice(f.figure.indexOf(':') + 2);
      lines.push(`| ${esc(metric)} — ${esc(who)} | ${fmt(f.value)} | ${f.unit} | ${peers.map((p) => fmt(peerValue(metric, p) ?? NaN)).join(' | ')} | ${peers.map((p) => (f.ratios![p] !== undefined ? `${fmt(f.ratios![p]!)}×` : '—')).join(' | ')} |`);
    }
    lines.push('');
  }

  lines.push('## All figures', '');
  lines.push('| benchmark | figure | value | unit | notes | machine | date |', '|---|---|---:|---|---|---|---|');
  for (const r of results) {
    if (!r.output || r.name.startsWith('profile')) continue;
    for (const f of r.output.figures as BenchFigure[]) {
      lines.push(`| ${esc(r.name)} | ${esc(f.figure)} | ${fmt(f.value)} | ${esc(f.unit)} | ${esc(f.note ?? '')} | ${esc(r.output.machine)} | ${r.output.date.slice(0, 16).replace('T', ' ')} UTC |`);
    }
  }
  lines.push('');

  const left: string[] = [];
  for (const r of results) {
    if (!r.ok) left.push(`**${r.name}** did not finish: ${esc(r.error ?? 'unknown error')}`);
    for (const s of r.output?.skipped ?? []) left.push(`**${r.name}**: ${s}`);
  }
  if (left.length) {
    lines.push('## Left out', '');
    for (const l of left) lines.push(`- ${l}`);
    lines.push('');
  }

  const notes = results.flatMap((r) => (r.output?.notes ?? []).map((n) => ({ bench: r.name, n })));
  if (notes.length) {
    lines.push('## Profiles and query plans', '');
    for (const { bench, n } of notes) lines.push(`<details><summary>${esc(bench)}: ${esc(n.split('\n')[0]!.slice(0, 160))}</summary>`, '', '```', n, '```', '', '</details>', '');
  }

  lines.push('## Runs', '', '| benchmark | command | result | seconds |', '|---|---|---|---:|');
  for (const r of results) lines.push(`| ${esc(r.name)} | \`node --import tsx ${r.file} ${r.args.map((a) => (a.startsWith('/') ? '<dir>' : a)).join(' ')}\` | ${r.ok ? 'ok' : 'failed'} | ${r.seconds.toFixed(0)} |`);
  lines.push('');
  return lines.join('\n');
}

const started = new Date();
const t0 = performance.now();
const load = loadavg().map((l) => l.toFixed(1)).join(' / ');
process.stdout.write(`# Switchyard benchmark suite${quick ? ' (quick)' : ''} on ${machine()}; load average ${load}\n`);
if (!hasPg) process.stdout.write('DATABASE_URL is not set: the PostgreSQL parts (the queue comparison with graphile-worker and pg-boss, PostgreSQL figures of streaming, scale, dispatch and skills) need it and are left out of the report.\n');
const profDir = mkdtempSync(join(tmpdir(), 'sy-bench-prof-'));
const results: StepResult[] = [];
for (const step of steps) {
  if (only && !only.some((o) => step.name.startsWith(o))) continue;
  if (!existsSync(join(ROOT, step.file))) {
    results.push({ name: step.name, file: step.file, args: step.args, ok: false, seconds: 0, error: `${step.file} does not exist in this checkout` });
    continue;
  }
  if (step.pgOnly && !hasPg) {
    results.push({ name: step.name, file: step.file, args: step.args, ok: true, seconds: 0, output: { machine: machine(), date: new Date().toISOString(), figures: [], skipped: ['needs DATABASE_URL (PostgreSQL)'] } });
    continue;
  }
  const r = await run(step, profDir);
  if (step.notesOnly && r.output) r.output.figures = [];
  results.push(r);
  if (step.ownDb && hasPg) await dropDatabase(step.ownDb).catch(() => undefined);
}
rmSync(profDir, { recursive: true, force: true });

const commit = git('rev-parse', '--short', 'HEAD');
const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'migrations', 'bin') ? ' (with uncommitted changes in src/)' : '';
const pgDesc = hasPg ? (() => {
  const u = new URL(process.env.DATABASE_URL!);
  return `PostgreSQL at ${u.hostname}:${u.port || 5432} (bench_* databases)`;
})() : 'not set (PostgreSQL parts left out)';
const meta = {
  Machine: machine(),
  Date: `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  Commit: `${commit}${dirty}`,
  Mode: quick ? 'quick (--quick: short runs, 1 repetition; not for comparison)' : 'full',
  DATABASE_URL: pgDesc,
  'Load average at start': `${load} (1 / 5 / 15 min)`,
  'Suite duration': `${((performance.now() - t0) / 1000).toFixed(0)} s`,
};
let report = results;
if (args.includes('--merge') && existsSync(join(outDir, 'results.json'))) {
  const before = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as Record<string, string> & { results: StepResult[] };
  const rerun = new Set(results.map((r) => r.name));
  // In the suite's order, with the new results in place of the old ones.
  report = [...before.results.filter((r) => !rerun.has(r.name)), ...results].sort((a, b) => steps.findIndex((x) => x.name === a.name) - steps.findIndex((x) => x.name === b.name));
  for (const k of ['Date', 'Commit', 'Load average at start', 'Suite duration'] as const) meta[k] = `${before[k]}; re-run of ${[...rerun].join(', ')}: ${meta[k]}`;
}
const outJson = { ...meta, quick, results: report };
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(outJson, null, 2)}\n`);
writeFileSync(join(outDir, 'results.md'), markdown(report, meta));
process.stdout.write(`\nWrote ${join(outDir, 'results.md')} and results.json in ${((performance.now() - t0) / 1000).toFixed(0)} s.\n`);
process.exit(results.every((r) => r.ok) ? 0 : 1);

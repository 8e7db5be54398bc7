/**
 * The chaos suite: two `switchyard serve` processes on one PostgreSQL
 * database, four `switchyard daemon` processes, and a thousand tasks of the
 * fake agent with random output, durations and failures. While they run,
 * random daemons are SIGKILLed and started again, and one server is killed
 * and restarted on its port. At the end it checks — against the database,
 * the agent's own ledger of what really ran, and the outboxes of the killed
 * daemons — that nothing was lost and nothing doubled, prints PASS/FAIL per
 * check, and exits 1 on any failure.
 *
 * Usage: DATABASE_URL=postgres://… npm run chaos -- [--quick] [--tasks N] [--seed S] [--keep]
 *   --quick   150 tasks, two daemon kills, one server restart (CI)
 *   --keep    keep the database and the run folder (logs, ledger) for a look afterwards
 * Works in a database of its own (created here, dropped at the end) and a
 * temporary folder; needs `npm run build` (it runs the built CLI).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SwitchyardClient } from '../src/client/index.js';
import { runChecks, type CheckResult } from './chaos/checks.js';
import { Cluster, createChaosDatabase, prepareDatabase, writeConfig, type ChaosDatabase } from './chaos/cluster.js';
import { FaultInjector, type FaultOptions } from './chaos/faults.js';
import { liveAgents, readLedger } from './chaos/ledger.js';
import { printChecks, printFaults, printTimings, progressLine, say, type Progress } from './chaos/report.js';
import { createTasks, planTasks, rng } from './chaos/workload.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin/switchyard.mjs');
const FAKE_AGENT = join(ROOT, 'test/fixtures/fake-agent.mjs');

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag('--quick');
const keep = flag('--keep');
const TASKS = Number(value('--tasks') ?? (quick ? 150 : 1000));
const SEED = Number(value('--seed') ?? Date.now() % 2 ** 31);
// Short enough that lost runs are retried within the run; the run lease is max(lease, 3 × heartbeat).
const TIMINGS = { leaseMs: 4_000, heartbeatMs: 1_000 };
// A killed daemon comes back either after its runs' lease ran out (the reaper retried them elsewhere:
// its orphans must not overlap the retries) or before (its outbox is resent and its runs end as lost).
const LATE: [number, number] = [TIMINGS.leaseMs + 2_000, TIMINGS.leaseMs + 5_000];
const EARLY: [number, number] = [500, TIMINGS.leaseMs / 2];
const FAULTS: FaultOptions = quick
  ? { daemonKills: 2, killGapMs: [3_000, 6_000], downMs: [LATE, EARLY], serverRestartAt: 0.4, serverDownMs: 1_000, stopAt: 0.8 }
  : { daemonKills: Infinity, killGapMs: [5_000, 12_000], downMs: [LATE, EARLY, EARLY], serverRestartAt: 0.4, serverDownMs: 1_500, stopAt: 0.85 };
const DEADLINE_MS = (quick ? 100 : 900) * 1000;

async function main(): Promise<number> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    process.stderr.write('chaos: DATABASE_URL is not set. The chaos suite needs a PostgreSQL server (with pgvector) to run two servers on one database:\n  DATABASE_URL=postgres://user@host:5432/postgres npm run chaos [-- --quick]\n');
    return 2;
  }
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    process.stderr.write('chaos: dist/ is missing; run `npm run build` first (the suite runs the built CLI).\n');
    return 2;
  }
  if (!Number.isInteger(TASKS) || TASKS < 1) {
    process.stderr.write('chaos: --tasks needs a positive whole number\n');
    return 2;
  }
  const t0 = Date.now();
  const timings: [string, number][] = [];
  let mark = t0;
  const lap = (name: string) => {
    const now = Date.now();
    timings.push([name, now - mark]);
    mark = now;
  };
  const log = (line: string) => say(t0, line);
  const dir = mkdtempSync(join(tmpdir(), 'sy-chaos-'));
  const ledgerDir = join(dir, 'ledger');
  const snapshotDir = join(dir, 'outbox-snapshots');
  mkdirSync(ledgerDir, { recursive: true });
  mkdirSync(snapshotDir, { recursive: true });
  log(`chaos: ${TASKS} tasks, 2 servers, 4 daemons, seed ${SEED}${quick ? ' (quick)' : ''}; folder ${dir}`);

  let database: ChaosDatabase | undefined;
  let cluster: Cluster | undefined;
  let pool: pg.Pool | undefined;
  let results: CheckResult[];
  try {
    database = await createChaosDatabase(base);
    const { adminToken, daemonToken } = await prepareDatabase(database.url);
    log(`database ${database.name} created and migrated`);
    const configPath = writeConfig(dir, FAKE_AGENT, ledgerDir, TIMINGS);
    cluster = new Cluster({ cli: CLI, dir, databaseUrl: database.url, configPath, daemonToken, servers: 2, daemons: 4 });
    await cluster.start();
    log(`servers ${cluster.servers.map((s) => `${s.name} :${s.port}`).join(', ')}; daemons ${cluster.daemons.map((d) => `${d.name}→${d.serverUrl.split(':').pop()}`).join(', ')}`);
    lap('start cluster');

    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const clients = cluster.servers.map((s) => new SwitchyardClient({ url: s.url, token: adminToken, workspace: 'chaos', timeoutMs: 10_000 }));
    const random = rng(SEED);
    const plans = planTasks(TASKS, random);

    let progress: Progress = { total: TASKS, terminal: 0, byStatus: {} };
    const readProgress = async (): Promise<Progress> => {
      const { rows } = await pool!.query<{ label: string; n: number }>(
        `SELECT CASE WHEN status = 'failed' AND run_after IS NOT NULL THEN 'retrying' ELSE status END AS label, count(*)::int AS n FROM tasks GROUP BY 1`,
      );
      const byStatus = Object.fromEntries(rows.map((r) => [r.label, r.n]));
      const terminal = (byStatus.completed ?? 0) + (byStatus.failed ?? 0) + (byStatus.cancelled ?? 0);
      return { total: Math.max(TASKS, rows.reduce((n, r) => n + r.n, 0)), terminal, byStatus };
    };
    const faults = new FaultInjector(cluster, FAULTS, random, t0, snapshotDir, log);
    faults.start(() => progress.terminal / progress.total);

    const creating = createTasks(plans, clients, () => undefined);
    let lastPrint = 0;
    let created: { created: number; retried: number } | undefined;
    void creating.then((c) => {
      created = c;
      lap('create tasks (while running)');
      log(`${c.created} tasks created${c.retried ? ` (${c.retried} requests retried on the other server)` : ''}`);
    });
    const runStart = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      progress = await readProgress();
      if (Date.now() - lastPrint >= 3_000) {
        lastPrint = Date.now();
        log(progressLine(progress, faults.kills, faults.serverRestarts));
      }
      if (created && progress.terminal >= progress.total) break;
      if (Date.now() - runStart > DEADLINE_MS) {
        log(`deadline of ${DEADLINE_MS / 1000} s passed; checking what there is`);
        break;
      }
    }
    await creating;
    await faults.finish();
    log(progressLine(progress, faults.kills, faults.serverRestarts));
    const runMs = Date.now() - runStart;
    lap('run until every task is terminal');

    await cluster.stop();
    // Anything the stopped daemons left behind counts against them; then it is cleaned up.
    await new Promise((r) => setTimeout(r, 500));
    const leftovers = liveAgents(ledgerDir);
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    lap('stop cluster');

    const ledger = readLedger(ledgerDir);
    results = await runChecks({ db: pool, ledger, snapshots: faults.snapshots, leftovers, planned: TASKS });
    lap('checks');

    printFaults(faults.events);
    printChecks(results);
    timings.push(['total', Date.now() - t0]);
    printTimings(timings);
    const done = progress.byStatus.completed ?? 0;
    process.stdout.write(
      `\n${TASKS} tasks in ${(runMs / 1000).toFixed(1)} s (${((TASKS / runMs) * 1000).toFixed(1)} tasks/s; ${done} completed), ${ledger.length} agent processes, ` +
        `${faults.kills} daemon kills, ${faults.serverRestarts} server restart${faults.serverRestarts === 1 ? '' : 's'}, seed ${SEED}\n`,
    );
  } catch (err) {
    process.stderr.write(`chaos: the run itself failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    cluster?.killAll();
    results = [{ name: 'run', pass: false, summary: 'did not finish', problems: [] }];
  } finally {
    await pool?.end();
    if (keep) process.stdout.write(`kept: database ${database?.name ?? '(none)'}, folder ${dir}\n`);
    else {
      await database?.drop().catch((err: unknown) => process.stderr.write(`chaos: dropping ${database?.name}: ${String(err)}\n`));
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const failed = results.filter((r) => !r.pass).length;
  process.stdout.write(failed ? `\nchaos: FAIL (${failed} of ${results.length} checks)\n` : `\nchaos: PASS (${results.length} checks)\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main();

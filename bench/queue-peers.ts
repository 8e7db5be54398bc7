/**
 * graphile-worker 0.18.0 and pg-boss 12.38.0 as bench/queue.ts measures
 * them, each used as its documentation recommends (see PEERS.md in the
 * issue's notes): concurrency 10, a pool of 12, no-op handlers.
 *
 *  - graphile      run() with defaults (LISTEN/NOTIFY, one fetch per job);
 *  - graphile-lq   the same plus its performance page's batching:
 *                  localQueue { size: 500 }, completeJobBatchDelay 0,
 *                  failJobBatchDelay 0;
 *  - pgboss        useListenNotify + a `notify: true` queue, work() with
 *                  localConcurrency 10, batchSize 50, burstWhenBatchFull.
 *
 * Also the latency worker: `node --import tsx bench/queue-peers.ts --worker
 * <peer> <url>` prints "ready", then "<i> <hrtime ns>" as each handler starts
 * (process.hrtime is CLOCK_MONOTONIC: one clock for every process).
 */
import { Logger, makeWorkerUtils, run, runMigrations, type Runner, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';

export type PeerName = 'graphile' | 'graphile-lq' | 'pgboss';
export const PEERS: PeerName[] = ['graphile', 'graphile-lq', 'pgboss'];
export const PEER_LABEL: Record<PeerName, string> = {
  graphile: 'graphile-worker',
  'graphile-lq': 'graphile-worker (localQueue 500)',
  pgboss: 'pg-boss (batch 50)',
};

const CONCURRENCY = 10;
const POOL = 12;
const QUEUE = 'noop';
const quiet = new Logger(() => () => undefined);

function graphileOptions(url: string, lq: boolean) {
  return {
    connectionString: url,
    concurrency: CONCURRENCY,
    maxPoolSize: POOL,
    noHandleSignals: true,
    logger: quiet,
    ...(lq ? { preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } } : {}),
  };
}

function newBoss(url: string): PgBoss {
  const boss = new PgBoss({ connectionString: url, max: POOL, useListenNotify: true });
  boss.on('error', (err) => process.stderr.write(`pg-boss: ${String(err)}\n`));
  return boss;
}

/** Installs the peer's schema (and pg-boss's queue) on a fresh database; not timed. */
export async function setupPeer(peer: PeerName, url: string): Promise<void> {
  if (peer === 'pgboss') {
    const boss = newBoss(url);
    await boss.start();
    await boss.createQueue(QUEUE, { notify: true });
    await boss.stop({ graceful: true, timeout: 5_000 });
  } else {
    await runMigrations({ connectionString: url, logger: quiet });
  }
}

/** A producer: the library's bulk call and its one-job call. */
export interface Producer {
  bulk(from: number, n: number): Promise<void>;
  one(i: number): Promise<void>;
  close(): Promise<void>;
}

export async function producer(peer: PeerName, url: string): Promise<Producer> {
  if (peer === 'pgboss') {
    const boss = newBoss(url);
    await boss.start();
    return {
      async bulk(from, n) {
        await boss.insert(QUEUE, Array.from({ length: n }, (_, k) => ({ data: { i: from + k } })));
      },
      async one(i) {
        await boss.send(QUEUE, { i });
      },
      close: () => boss.stop({ graceful: true, timeout: 5_000 }),
    };
  }
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: url, logger: quiet });
  return {
    async bulk(from, n) {
      await utils.addJobs(Array.from({ length: n }, (_, k) => ({ identifier: QUEUE, payload: { i: from + k } })));
    },
    async one(i) {
      await utils.addJob(QUEUE, { i });
    },
    close: async () => void (await utils.release()),
  };
}

/** A running worker whose handler calls `onJob(i)` for every job it starts. */
export interface Worker {
  stop(): Promise<void>;
}

export async function startWorker(peer: PeerName, url: string, onJob: (i: number) => void): Promise<Worker> {
  if (peer === 'pgboss') {
    const boss = newBoss(url);
    await boss.start();
    await boss.work<{ i: number }>(QUEUE, { localConcurrency: CONCURRENCY, batchSize: 50, burstWhenBatchFull: true }, async (jobs) => {
      for (const j of jobs) onJob(j.data.i);
    });
    return { stop: () => boss.stop({ graceful: true, timeout: 5_000 }) };
  }
  const runner: Runner = await run({
    ...graphileOptions(url, peer === 'graphile-lq'),
    taskList: {
      [QUEUE]: async (payload) => {
        onJob((payload as { i: number }).i);
      },
    },
  });
  return { stop: async () => void (await runner.stop()) };
}

/** Jobs not yet completed, as the database says. */
export async function remaining(peer: PeerName, client: pg.Client): Promise<number> {
  const sql = peer === 'pgboss' ? `SELECT count(*)::int AS n FROM pgboss.job WHERE name = '${QUEUE}' AND state <> 'completed'` : 'SELECT count(*)::int AS n FROM graphile_worker.jobs';
  const { rows } = await client.query<{ n: number }>(sql);
  return rows[0]!.n;
}

/**
 * Drain: `n` jobs already enqueued; from starting the worker until no
 * uncompleted job is left in the database. Every job must run exactly once.
 */
export async function drainPeer(peer: PeerName, url: string, n: number): Promise<{ ms: number; missing: number; duplicates: number }> {
  const seen = new Uint8Array(n);
  let handled = 0;
  let allHandled!: () => void;
  const handledAll = new Promise<void>((r) => (allHandled = r));
  const check = new pg.Client({ connectionString: url });
  await check.connect();
  const t0 = performance.now();
  const worker = await startWorker(peer, url, (i) => {
    seen[i]!++;
    if (++handled === n) allHandled();
  });
  await handledAll;
  while ((await remaining(peer, check)) > 0) await new Promise((r) => setTimeout(r, 2));
  const ms = performance.now() - t0;
  // Give a duplicate delivery a moment to show before counting.
  await new Promise((r) => setTimeout(r, 200));
  await worker.stop();
  await check.end();
  let missing = 0;
  let duplicates = 0;
  for (const c of seen) {
    if (c === 0) missing++;
    if (c > 1) duplicates += c - 1;
  }
  return { ms, missing, duplicates };
}

// The latency worker, in its own process.
if (process.argv[2] === '--worker') {
  const peer = process.argv[3] as PeerName;
  const url = process.argv[4]!;
  const worker = await startWorker(peer, url, (i) => {
    const t = process.hrtime.bigint();
    process.stdout.write(`${i} ${t}\n`);
  });
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => void worker.stop().then(() => process.exit(0)));
}

/**
 * Two servers on one PostgreSQL (issue 7, scale-out): what crossing servers
 * costs. A runtime (a separate process) is connected to server B.
 *  1. dispatch: POST /tasks returning → the agent process started, with the
 *     task created on B itself, and on A (B's dispatcher is woken by A's
 *     NOTIFY);
 *  2. stream: an agent line → a dashboard client on B (local push) and on A
 *     (NOTIFY, then a read from the database), N agents × 100 lines/s.
 * Both servers run in this process, each with its own pool and LISTEN
 * connection, so every signal between them goes through PostgreSQL.
 *
 * Usage: DATABASE_URL=postgres://… node --import tsx bench/scaleOut.ts [--quick] [--streams N]
 * (works in the database bench_scale_out on that server, created and dropped here).
 */
import pino from 'pino';
import WebSocket from 'ws';
import { SwitchyardClient } from '../src/client/index.js';
import { applyWorkspaceConfig } from '../src/server/bootstrap.js';
import { createServer, type Server } from '../src/server/index.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open.js';
import { ensureEventPartitions } from '../src/store/partitions.js';
import { createToken } from '../src/store/tokens.js';
import { dispatchMs, dropDatabase, freshDatabase, sleep, spawnDaemon, steadyStateFrom, untilCompleted } from './common.js';
import { config, FAKE_AGENT, machine, opt, percentile, quick, report, type Figure } from './lib.js';

const base = process.env.DATABASE_URL;
if (!base) throw new Error('bench/scaleOut.ts needs DATABASE_URL (a PostgreSQL server)');
const STREAMS = Number(opt('--streams') ?? 10);

const name = 'bench_scale_out';
const url = await freshDatabase(name);
const db = await openStore({ kind: 'postgres', connection: { connectionString: url, max: 20 }, describe: name });
const figures: Figure[] = [];
const servers: Server[] = [];
try {
  await db.query('CREATE EXTENSION IF NOT EXISTS vector');
  await migrate(db);
  await ensureEventPartitions(db);
  const cfg = config({ workspace: { id: 'bench', max_concurrent: Math.max(8, STREAMS) } });
  const defaultWorkspace = await applyWorkspaceConfig(db, cfg);
  const adminToken = (await createToken(db, { role: 'admin', name: 'bench', workspaceId: null })).token;
  const daemonToken = (await createToken(db, { role: 'daemon', name: 'bench', workspaceId: null })).token;
  const start = async (serverId: string) => {
    const server = await createServer({ db, config: cfg, log: pino({ level: 'warn' }), version: 'bench', defaultWorkspace, serverId });
    servers.push(server);
    const u = await server.listen(0, '127.0.0.1');
    return { server, url: u, client: new SwitchyardClient({ url: u, token: adminToken, workspace: 'bench' }) };
  };
  const a = await start('bench-a');
  const b = await start('bench-b');
  process.stdout.write(`# scale-out benchmark on ${machine()}, PostgreSQL ${(await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v}\n`);

  // 1. Dispatch, alternating where the task is created.
  const noop = [{ name: 'noop', binary: '/bin/true', args: [], version_args: [] }];
  let daemon = await spawnDaemon(b.url, daemonToken, { orchestrator: { agents: noop, runtime: { max_concurrent: 4, cpu_threshold: 64 } } });
  try {
    const n = quick ? 60 : 300;
    const samples: Record<'A' | 'B', number[]> = { A: [], B: [] };
    for (let i = 0; i < n + 20; i++) {
      const on = i % 2 === 0 ? 'A' : 'B';
      const ms = await dispatchMs((on === 'A' ? a : b).client, b.client, `noop ${i}`);
      if (i >= 20) samples[on].push(ms);
    }
    for (const on of ['B', 'A'] as const) {
      const where = on === 'B' ? 'created on B (same server)' : 'created on A (across servers)';
      figures.push(
        { bench: 'scale-out', figure: `dispatch POST→agent start p50, ${where}`, value: percentile(samples[on], 50), unit: 'ms', note: `${samples[on].length} tasks` },
        { bench: 'scale-out', figure: `dispatch POST→agent start p99, ${where}`, value: percentile(samples[on], 99), unit: 'ms' },
      );
    }
  } finally {
    await daemon.stop();
  }

  // 2. Stream: one dashboard on each server, both following every task.
  const fake = [{ name: 'fake', binary: FAKE_AGENT, args: ['{prompt}'], version_args: [] }];
  daemon = await spawnDaemon(b.url, daemonToken, { orchestrator: { agents: fake, runtime: { max_concurrent: STREAMS, cpu_threshold: 64, health_check_interval: '5s' } } }, { name: 'bench-stream' });
  try {
    const seconds = quick ? 4 : 10;
    const lines = 100 * (seconds + 4);
    let measureFrom = Infinity;
    const latencies: Record<'A' | 'B', number[]> = { A: [], B: [] };
    const dashboards = await Promise.all(
      (['A', 'B'] as const).map(async (on) => {
        const ws = new WebSocket(`${(on === 'A' ? a : b).url.replace('http', 'ws')}/api/v1/stream`);
        await new Promise((r) => ws.once('open', r));
        ws.send(JSON.stringify({ type: 'auth', token: adminToken }));
        ws.on('message', (d) => {
          const now = performance.timeOrigin + performance.now();
          const f = JSON.parse(d.toString()) as { type: string; items?: { text?: string }[] };
          if (f.type !== 'events') return;
          for (const e of f.items ?? []) {
            const m = / t=(\d+\.\d+)$/.exec(e.text ?? '');
            if (m && Number(m[1]) >= measureFrom) latencies[on].push(now - Number(m[1]));
          }
        });
        return ws;
      }),
    );
    const ids: string[] = [];
    for (let i = 0; i < STREAMS; i++) {
      const t = await b.client.tasks.create({ assignedAgent: 'fake', prompt: `s --lines ${lines} --rate 100 --stamp` });
      ids.push(t.id);
      for (const ws of dashboards) ws.send(JSON.stringify({ type: 'subscribe', taskId: t.id, afterSeq: 0 }));
    }
    measureFrom = await steadyStateFrom(b.client, ids);
    await untilCompleted(b.client, ids, (seconds + 40) * 1000);
    await sleep(500);
    for (const ws of dashboards) ws.close();
    for (const on of ['B', 'A'] as const) {
      const where = on === 'B' ? 'dashboard on B (same server)' : 'dashboard on A (across servers)';
      figures.push(
        { bench: 'scale-out', figure: `stream line→${where} p50, ${STREAMS} agents × 100 lines/s`, value: percentile(latencies[on], 50), unit: 'ms' },
        { bench: 'scale-out', figure: `stream line→${where} p99`, value: percentile(latencies[on], 99), unit: 'ms', note: `${latencies[on].length} lines` },
      );
    }
  } finally {
    await daemon.stop();
  }
} finally {
  for (const s of servers) await s.close();
  await db.close();
  await dropDatabase(name);
}
report(figures);

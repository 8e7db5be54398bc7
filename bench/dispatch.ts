/**
 * Dispatch and stream latency (the daemon issue's figures):
 *  1. POST /tasks returning → the agent process started, on an idle daemon
 *     (p50/p99; target p50 ≤ 10 ms, p99 ≤ 50 ms on loopback);
 *  2. an agent writing a line → a dashboard client receiving it, with N
 *     agents each writing 100 lines/s (p50/p99; target p99 ≤ 25 ms at 50).
 *     Here the dashboard client shares the server's process and the agents
 *     are Node processes (the fake agent), both taking CPU from the server on
 *     a small machine; bench/streaming.ts measures the same path with the
 *     client in a process of its own and light Perl agents, and is the
 *     reference for the streaming figures.
 *
 * Usage: node --import tsx bench/dispatch.ts [--quick] [--pg|--pglite] [--streams N]
 */
import WebSocket from 'ws';
import { SwitchyardClient } from '../src/client/index.js';
import { dispatchMs, spawnDaemon, steadyStateFrom, untilCompleted } from './common.js';
import { config, FAKE_AGENT, machine, opt, percentile, quick, report, startBenchServer, type Figure } from './lib.js';

const STREAMS = Number(opt('--streams') ?? 50);

async function dispatchLatency(figures: Figure[]): Promise<void> {
  const agents = [{ name: 'noop', binary: '/bin/true', args: [], version_args: [] }];
  const stack = await startBenchServer(config({ runtime: { max_concurrent: 4 } }));
  const daemon = await spawnDaemon(stack.url, stack.daemonToken, { orchestrator: { agents, runtime: { max_concurrent: 4, cpu_threshold: 64 } } });
  try {
    const n = quick ? 100 : 500;
    const samples: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const ms = await dispatchMs(stack.admin, stack.admin, `noop ${i}`);
      if (i >= 20) samples.push(ms); // 20 warm-up tasks
    }
    figures.push(
      { bench: 'dispatch', figure: `dispatch POST→agent start p50 (${stack.backend})`, value: percentile(samples, 50), unit: 'ms', note: `${samples.length} tasks, idle daemon` },
      { bench: 'dispatch', figure: `dispatch POST→agent start p99 (${stack.backend})`, value: percentile(samples, 99), unit: 'ms' },
    );
  } finally {
    await daemon.stop();
    await stack.close();
  }
}

async function streamLatency(figures: Figure[], streams: number): Promise<void> {
  const agents = [{ name: 'fake', binary: FAKE_AGENT, args: ['{prompt}'], version_args: [] }];
  const stack = await startBenchServer(config({ workspace: { id: 'bench', max_concurrent: streams } }));
  const daemon = await spawnDaemon(stack.url, stack.daemonToken, { orchestrator: { agents, runtime: { max_concurrent: streams, health_check_interval: '5s', cpu_threshold: 64 } } });
  const latencies: number[] = [];
  const trace: [number, number][] = [];
  try {
    // Agents run long enough to cover their own start-up (50 Node processes
    // starting at once load a 2-core machine for seconds) plus the measured window.
    const seconds = quick ? 4 : 15;
    const lines = 100 * (seconds + 8);
    let measureFrom = Infinity;
    const ws = new WebSocket(`${stack.url.replace('http', 'ws')}/api/v1/stream`);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'auth', token: stack.adminToken }));
    ws.on('message', (d) => {
      const now = performance.timeOrigin + performance.now();
      const f = JSON.parse(d.toString()) as { type: string; items?: { text?: string }[] };
      if (f.type !== 'events') return;
      for (const e of f.items ?? []) {
        const m = / t=(\d+\.\d+)$/.exec(e.text ?? '');
        if (m) {
          if (Number(m[1]) < measureFrom) continue;
          latencies.push(now - Number(m[1]));
          if (process.env.SY_BENCH_TRACE) trace.push([Number(m[1]), now - Number(m[1])]);
        }
      }
    });
    const ids: string[] = [];
    const benchClient = new SwitchyardClient({ url: stack.url, token: stack.adminToken, workspace: 'bench' });
    for (let i = 0; i < streams; i++) {
      const t = await benchClient.tasks.create({ assignedAgent: 'fake', prompt: `s --lines ${lines} --rate 100 --stamp` });
      ids.push(t.id);
      ws.send(JSON.stringify({ type: 'subscribe', taskId: t.id, afterSeq: 0 }));
    }
    measureFrom = await steadyStateFrom(stack.admin, ids);
    const expected = streams * lines;
    await untilCompleted(stack.admin, ids, (seconds + 40) * 1000);
    ws.close();
    if (trace.length) {
      const t0 = Math.min(...trace.map((t) => t[0]));
      const buckets = new Map<number, number[]>();
      for (const [at, l] of trace) buckets.set(Math.floor((at - t0) / 500), [...(buckets.get(Math.floor((at - t0) / 500)) ?? []), l]);
      for (const [b, ls] of [...buckets].sort((a, b) => a[0] - b[0])) process.stdout.write(`t=${b / 2}s n=${ls.length} p50=${percentile(ls, 50).toFixed(1)} p99=${percentile(ls, 99).toFixed(1)}\n`);
    }
    const steady = latencies;
    figures.push(
      { bench: 'dispatch', figure: `stream line→dashboard p50, ${streams} agents × 100 lines/s (${stack.backend})`, value: percentile(steady, 50), unit: 'ms' },
      { bench: 'dispatch', figure: `stream line→dashboard p99, ${streams} agents × 100 lines/s (${stack.backend})`, value: percentile(steady, 99), unit: 'ms', note: `${steady.length} lines measured after all agents started; ${expected} written` },
    );
  } finally {
    await daemon.stop();
    await stack.close();
  }
}

const figures: Figure[] = [];
process.stdout.write(`# dispatch benchmark on ${machine()}\n`);
await dispatchLatency(figures);
await streamLatency(figures, STREAMS);
report(figures);

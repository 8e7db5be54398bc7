/**
 * A dashboard in its own process (so its parsing does not run on the
 * server's event loop): one /api/v1/stream socket, subscribed to the tasks
 * the parent names; for every line stamped " t=<epoch ms>" inside the
 * measuring window it records receive time − stamp. Driven over IPC by
 * bench/streaming.ts and bench/footprint.ts.
 */
import WebSocket from 'ws';

type Msg =
  | { cmd: 'connect'; url: string; token: string }
  | { cmd: 'subscribe'; ids: string[] }
  | { cmd: 'window'; from: number; to: number }
  | { cmd: 'report' }
  | { cmd: 'close' };

let ws: WebSocket | undefined;
let from = Infinity;
let to = -Infinity;
const latencies: number[] = [];
let received = 0;

const reply = (m: unknown) => process.send!(m);

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

process.on('message', (m: Msg) => {
  switch (m.cmd) {
    case 'connect': {
      ws = new WebSocket(`${m.url.replace(/^http/, 'ws')}/api/v1/stream`);
      ws.on('open', () => ws!.send(JSON.stringify({ type: 'auth', token: m.token })));
      ws.on('message', (d) => {
        const now = performance.timeOrigin + performance.now();
        const f = JSON.parse(d.toString()) as { type: string; items?: { text?: string }[] };
        if (f.type === 'ready') return reply({ ok: 'ready' });
        if (f.type !== 'events') return;
        for (const e of f.items ?? []) {
          received++;
          const at = / t=(\d+\.\d+)$/.exec(e.text ?? '');
          if (!at) continue;
          const t = Number(at[1]);
          if (t >= from && t < to) latencies.push(now - t);
        }
      });
      ws.on('error', (err) => reply({ error: String(err) }));
      return;
    }
    case 'subscribe':
      for (const id of m.ids) ws!.send(JSON.stringify({ type: 'subscribe', taskId: id, afterSeq: 0 }));
      return reply({ ok: 'subscribed' });
    case 'window':
      from = m.from;
      to = m.to;
      return reply({ ok: 'window' });
    case 'report': {
      const s = [...latencies].sort((a, b) => a - b);
      return reply({ n: s.length, received, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), max: s[s.length - 1] ?? NaN });
    }
    case 'close':
      ws?.close();
      process.exit(0);
  }
});

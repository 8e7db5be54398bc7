/**
 * A hand-driven runtime speaking the daemon protocol over a real WebSocket:
 * for tests of what the server does with frames a real daemon would rarely
 * send (bad ones, throttle reports, vanishing mid-run).
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../../src/core/protocol.js';
import { track, untrack } from './leaks.js';
import { until } from './wait.js';

export interface RawDaemon {
  id: string;
  frames: Record<string, unknown>[];
  ws: WebSocket;
  send(frame: unknown): void;
  sendText(text: string): void;
  hello(extra?: Record<string, unknown>): void;
  waitFrame(pred: (f: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  closed(): boolean;
  close(): Promise<void>;
}

export async function connectRawDaemon(url: string, token: string, opts: { id?: string; agents?: string[]; capacity?: number } = {}): Promise<RawDaemon> {
  const id = opts.id ?? randomUUID();
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/daemon/connect`, { headers: { authorization: `Bearer ${token}` } });
  const frames: Record<string, unknown>[] = [];
  let isClosed = false;
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
  ws.on('close', () => (isClosed = true));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const raw: RawDaemon = {
    id,
    frames,
    ws,
    send: (f) => ws.send(JSON.stringify(f)),
    sendText: (t) => ws.send(t),
    hello(extra = {}) {
      raw.send({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        daemonId: id,
        name: 'raw',
        hostname: 'raw-host',
        version: 'test',
        capacity: opts.capacity ?? 4,
        agents: (opts.agents ?? ['fake']).map((name) => ({ name, binary: `/bin/${name}`, version: '1.0.0', status: 'ok', reason: null })),
        running: [],
        pending: [],
        ...extra,
      });
    },
    waitFrame: async (pred, what, timeoutMs = 10_000) => until(() => frames.find(pred), what, timeoutMs),
    closed: () => isClosed,
    async close() {
      if (!isClosed) {
        await new Promise<void>((r) => {
          ws.once('close', () => r());
          ws.close();
        });
      }
      untrack(raw);
    },
  };
  track(raw, `raw daemon ${id}`);
  return raw;
}

/** A dashboard-like client of /api/v1/stream that records what it receives. */
import WebSocket from 'ws';
import type { Task, TaskEvent } from '../../src/core/api.js';
import { track, untrack } from './leaks.js';
import { until } from './wait.js';

export interface StreamClient {
  events: TaskEvent[];
  tasks: Task[];
  frames: Record<string, unknown>[];
  send(frame: unknown): void;
  subscribeTask(taskId: string, afterSeq?: number): void;
  subscribeWorkspace(workspaceId: string): void;
  waitFor(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function connectStream(url: string, token: string, opts: { onEvent?: (e: TaskEvent, receivedAt: number) => void } = {}): Promise<StreamClient> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/stream`);
  const c: StreamClient = {
    events: [],
    tasks: [],
    frames: [],
    send: (f) => ws.send(JSON.stringify(f)),
    subscribeTask: (taskId, afterSeq = 0) => ws.send(JSON.stringify({ type: 'subscribe', taskId, afterSeq })),
    subscribeWorkspace: (workspaceId) => ws.send(JSON.stringify({ type: 'subscribe', workspaceId })),
    waitFor: (pred, what, timeoutMs = 10_000) => until(pred, what, timeoutMs).then(() => undefined),
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((r) => {
          ws.once('close', () => r());
          ws.close();
        });
      }
      untrack(c);
    },
  };
  ws.on('message', (data) => {
    const now = Date.now();
    const f = JSON.parse(data.toString()) as { type: string; items?: TaskEvent[]; task?: Task };
    c.frames.push(f);
    if (f.type === 'events' && f.items) {
      for (const e of f.items) {
        c.events.push(e);
        opts.onEvent?.(e, now);
      }
    }
    if (f.type === 'task' && f.task) c.tasks.push(f.task);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  track(c, 'stream client');
  ws.send(JSON.stringify({ type: 'auth', token }));
  await c.waitFor(() => c.frames.some((f) => f.type === 'ready' || f.type === 'error'), 'stream auth');
  return c;
}

/**
 * Live updates for dashboards and `task logs --follow` (/api/v1/stream).
 * A client authenticates with its first frame, then subscribes to a
 * workspace (task changes) or to a task (its events, resumed after the last
 * seq it has). Per task subscription the hub remembers the last seq sent and
 * only ever sends the next ones, in order: events that arrive while older
 * ones are still being read from the database wait their turn, and a gap is
 * filled from the database — so a client never sees a line twice or out of
 * order, whichever server stored it.
 */
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Task, TaskEvent } from '../core/api.js';
import { coerceError } from '../core/errors.js';
import { streamClientFrame } from '../core/protocol.js';
import type { Db } from '../store/db.js';
import { listEvents } from '../store/events.js';
import { getTask } from '../store/tasks.js';
import { isInstanceAdmin, type Authenticator, type Principal } from './auth.js';
import type { Bus } from './bus.js';

interface TaskSub {
  workspaceId: string;
  lastSeq: number;
  chain: Promise<void>;
}

interface Client {
  ws: WebSocket;
  principal?: Principal;
  workspaces: Set<string>;
  tasks: Map<string, TaskSub>;
}

export interface StreamHubDeps {
  db: Db;
  bus: Bus;
  auth: Authenticator;
  log: Logger;
  maxMessageSize: number;
}

export type StreamHub = ReturnType<typeof createStreamHub>;

const AUTH_TIMEOUT_MS = 10_000;
const PAGE = 1_000;
/** A client this far behind is disconnected; it reconnects and resumes from its last seq. */
const MAX_BUFFERED = 8 * 1024 * 1024;

export function createStreamHub(deps: StreamHubDeps) {
  const { db, bus, log } = deps;
  const clients = new Set<Client>();

  const send = (c: Client, frame: Record<string, unknown>) => {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > MAX_BUFFERED) {
      c.ws.close(1013, 'too far behind; reconnect and resume');
      return;
    }
    c.ws.send(JSON.stringify(frame));
  };

  bus.subscribe('task', (p) => void onTaskChanged(String(p.id), String(p.workspaceId)));
  bus.subscribe('events', (p, origin) => {
    // Local events were pushed directly by pushEvents; remote ones are read from the database.
    if (origin === 'remote') catchUp(String(p.taskId));
  });
  bus.subscribe('resync', () => {
    // Other servers' notifications may have been missed while LISTEN was down: re-read every followed task.
    const followed = new Set<string>();
    for (const c of clients) for (const id of c.tasks.keys()) followed.add(id);
    for (const id of followed) {
      catchUp(id);
      void onTaskChanged(id, '');
    }
  });

  async function onTaskChanged(taskId: string, workspaceId: string): Promise<void> {
    const targets = [...clients].filter((c) => c.workspaces.has(workspaceId) || c.tasks.has(taskId));
    if (targets.length === 0) return;
    try {
      const task = await getTask(db, null, taskId);
      if (!task) return;
      for (const c of targets) send(c, { type: 'task', task });
    } catch (err) {
      log.warn({ err: coerceError(err), taskId }, 'could not read a changed task');
    }
  }

  function enqueue(c: Client, taskId: string, sub: TaskSub, work: () => Promise<void>): void {
    sub.chain = sub.chain.then(work).catch((err: unknown) => {
      log.warn({ err: coerceError(err), taskId }, 'stream delivery failed');
      send(c, { type: 'error', code: 'stream_failed', message: 'could not read events; resubscribe to resume' });
    });
  }

  /** Reads and sends everything after the subscription's last seq. */
  async function fill(c: Client, taskId: string, sub: TaskSub): Promise<void> {
    for (;;) {
      const page = await listEvents(db, taskId, sub.lastSeq, PAGE);
      const items = page.items.filter((e) => e.seq > sub.lastSeq);
      if (items.length > 0) deliver(c, taskId, sub, items);
      if (page.next === null) return;
    }
  }

  function deliver(c: Client, taskId: string, sub: TaskSub, items: TaskEvent[]): void {
    // Frames stay under the message cap: split long batches.
    let batch: TaskEvent[] = [];
    let size = 0;
    const flush = () => {
      if (batch.length === 0) return;
      send(c, { type: 'events', taskId, items: batch });
      sub.lastSeq = batch[batch.length - 1]!.seq;
      batch = [];
      size = 0;
    };
    for (const e of items) {
      const n = (e.raw?.length ?? 0) + (e.text?.length ?? 0) + 200;
      if (size + n > deps.maxMessageSize / 2) flush();
      batch.push(e);
      size += n;
    }
    flush();
  }

  function catchUp(taskId: string): void {
    for (const c of clients) {
      const sub = c.tasks.get(taskId);
      if (sub) enqueue(c, taskId, sub, () => fill(c, taskId, sub));
    }
  }

  async function handleFrame(c: Client, data: RawData): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      return send(c, { type: 'error', code: 'invalid_json', message: 'frame is not valid JSON' });
    }
    const parsed = streamClientFrame.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return send(c, { type: 'error', code: 'invalid_frame', message: issue ? `${issue.path.join('.') || 'frame'}: ${issue.message}` : 'invalid frame' });
    }
    const f = parsed.data;
    if (f.type === 'ping') return send(c, { type: 'pong' });
    if (f.type === 'auth') {
      const p = await deps.auth.authenticate(f.token);
      if (!p || p.role === 'daemon' || p.role === 'task') {
        send(c, { type: 'error', code: 'unauthorized', message: 'invalid token' });
        c.ws.close(4401, 'unauthorized');
        return;
      }
      c.principal = p;
      return send(c, { type: 'ready', role: p.role, workspaceId: p.workspaceId });
    }
    const p = c.principal;
    if (!p) return send(c, { type: 'error', code: 'unauthorized', message: 'send {"type":"auth","token":"…"} first' });
    const scope = isInstanceAdmin(p) ? null : p.workspaceId;
    if (f.type === 'unsubscribe') {
      if (f.workspaceId) c.workspaces.delete(f.workspaceId);
      if (f.taskId) c.tasks.delete(f.taskId);
      return;
    }
    if (f.taskId) {
      const task: Task | undefined = await getTask(db, scope, f.taskId);
      if (!task) return send(c, { type: 'error', code: 'not_found', message: `task ${f.taskId} not found`, taskId: f.taskId });
      const sub: TaskSub = { workspaceId: task.workspaceId, lastSeq: f.afterSeq ?? 0, chain: Promise.resolve() };
      c.tasks.set(task.id, sub);
      send(c, { type: 'subscribed', taskId: task.id });
      send(c, { type: 'task', task });
      enqueue(c, task.id, sub, () => fill(c, task.id, sub));
      return;
    }
    if (f.workspaceId) {
      if (scope !== null && f.workspaceId !== scope) {
        return send(c, { type: 'error', code: 'not_found', message: `workspace ${f.workspaceId} not found` });
      }
      c.workspaces.add(f.workspaceId);
      return send(c, { type: 'subscribed', workspaceId: f.workspaceId });
    }
    send(c, { type: 'error', code: 'invalid_frame', message: 'subscribe needs a workspaceId or a taskId' });
  }

  return {
    accept(ws: WebSocket): void {
      const c: Client = { ws, workspaces: new Set(), tasks: new Map() };
      clients.add(c);
      const timer = setTimeout(() => {
        if (!c.principal) ws.close(4401, 'no auth frame');
      }, AUTH_TIMEOUT_MS);
      let chain = Promise.resolve();
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (isBinary) return send(c, { type: 'error', code: 'invalid_frame', message: 'frames are JSON text' });
        chain = chain.then(() => handleFrame(c, data)).catch((err: unknown) => log.warn({ err: coerceError(err) }, 'stream frame failed'));
      });
      ws.on('close', () => {
        clearTimeout(timer);
        clients.delete(c);
      });
      ws.on('error', () => undefined);
    },

    /** Events just stored by this process: sent straight on when they are the next ones. */
    pushEvents(taskId: string, _workspaceId: string, events: readonly TaskEvent[]): void {
      for (const c of clients) {
        const sub = c.tasks.get(taskId);
        if (!sub) continue;
        enqueue(c, taskId, sub, async () => {
          const first = events[0];
          if (!first) return;
          if (first.seq === sub.lastSeq + 1) deliver(c, taskId, sub, [...events]);
          else if (events[events.length - 1]!.seq > sub.lastSeq) await fill(c, taskId, sub);
        });
      }
    },

    clientCount(): number {
      return clients.size;
    },

    close(): void {
      for (const c of clients) c.ws.close(1001, 'server shutting down');
      clients.clear();
    },
  };
}

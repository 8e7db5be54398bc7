/**
 * The dashboard's one connection to the live stream (/api/v1/stream, see
 * docs/api.md): authenticate with the first frame, subscribe to the
 * workspace (task changes) and to open tasks (their events after the last
 * seq held). When the connection drops — a server restart, a laptop waking
 * up, a proxy timing out, the server cutting a client that fell 8 MiB behind
 * — it reconnects with exponential backoff and jitter, authenticates again
 * and resubscribes every task with the seq it has, so the server sends only
 * what is missing.
 *
 * DOM-free: the socket comes from `openSocket`, so test/web/streamClient.test.ts
 * drives this with Node's `ws` against a real server.
 */
import type { Task, TaskEvent } from '../../../src/core/api.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';

export interface SocketHandlers {
  onOpen(): void;
  onMessage(data: string): void;
  onClose(code: number, reason: string): void;
}
export interface Socket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type OpenSocket = (url: string, handlers: SocketHandlers) => Socket;

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'unauthorized' | 'closed';
export interface StreamStatus {
  state: StreamState;
  /** Failed connection attempts since the last good one. */
  attempt: number;
  /** When the next attempt starts (epoch ms), while reconnecting. */
  retryAt?: number;
  /** Why the last connection ended. */
  reason?: string;
}

export interface TaskWatcher {
  /** The last seq this watcher holds; the resubscription resumes after it. */
  afterSeq(): number;
  onEvents(items: readonly TaskEvent[]): void;
  onTask?(task: Task): void;
  onError?(code: string, message: string): void;
}

export interface StreamClientOptions {
  /** ws:// or wss:// URL of /api/v1/stream. */
  url: string;
  token: string;
  openSocket: OpenSocket;
  backoff?: BackoffOptions;
  random?: () => number;
  /** A ping goes out this often; a connection silent for `silenceMs` after one is closed and reopened. */
  pingIntervalMs?: number;
  silenceMs?: number;
}

export type StreamClient = ReturnType<typeof createStreamClient>;

type Frame = { type: string; [k: string]: unknown };

export function createStreamClient(o: StreamClientOptions) {
  const backoff = o.backoff ?? DEFAULT_BACKOFF;
  const random = o.random ?? Math.random;
  const pingIntervalMs = o.pingIntervalMs ?? 20_000;
  const silenceMs = o.silenceMs ?? 10_000;

  const workspaces = new Map<string, Set<(t: Task) => void>>();
  const tasks = new Map<string, Set<TaskWatcher>>();
  const statusListeners = new Set<(s: StreamStatus) => void>();
  const resumeListeners = new Set<() => void>();

  let status: StreamStatus = { state: 'connecting', attempt: 0 };
  let socket: Socket | undefined;
  let ready = false;
  /** A connection was ready before: the next ready one is a resumption. */
  let wasReady = false;
  let closed = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  let lastHeard = 0;

  const setStatus = (s: StreamStatus) => {
    status = s;
    for (const l of statusListeners) safely(() => l(s));
  };

  const send = (frame: Record<string, unknown>) => {
    if (socket && ready) socket.send(JSON.stringify(frame));
  };

  const subscribeTask = (taskId: string) => {
    const watchers = tasks.get(taskId);
    if (!watchers || watchers.size === 0) return;
    const afterSeq = Math.min(...[...watchers].map((w) => w.afterSeq()));
    send({ type: 'subscribe', taskId, afterSeq });
  };

  function connect(): void {
    if (closed) return;
    ready = false;
    let opened = false;
    const current = o.openSocket(o.url, {
      onOpen() {
        if (socket !== current) return;
        opened = true;
        lastHeard = Date.now();
        current.send(JSON.stringify({ type: 'auth', token: o.token }));
      },
      onMessage(data) {
        if (socket !== current) return;
        lastHeard = Date.now();
        let f: Frame;
        try {
          f = JSON.parse(data) as Frame;
        } catch {
          return;
        }
        onFrame(f);
      },
      onClose(code, reason) {
        if (socket !== current) return;
        socket = undefined;
        ready = false;
        stopPing();
        if (closed) return setStatus({ state: 'closed', attempt: 0 });
        if (code === 4401) return setStatus({ state: 'unauthorized', attempt: 0, reason: reason || 'the token was refused' });
        // The first retry after a good connection waits the shortest delay; each failure after it doubles.
        const attempt = status.state === 'open' ? 1 : status.attempt + 1;
        scheduleReconnect(attempt, reason || (opened ? `connection closed (${code})` : 'cannot reach the server'));
      },
    });
    socket = current;
  }

  function onFrame(f: Frame): void {
    switch (f.type) {
      case 'ready': {
        ready = true;
        const resumed = wasReady;
        wasReady = true;
        setStatus({ state: 'open', attempt: 0 });
        startPing();
        for (const id of workspaces.keys()) send({ type: 'subscribe', workspaceId: id });
        for (const id of tasks.keys()) subscribeTask(id);
        if (resumed) for (const l of resumeListeners) safely(l);
        return;
      }
      case 'task': {
        const t = f.task as Task | undefined;
        if (!t) return;
        for (const h of workspaces.get(t.workspaceId) ?? []) safely(() => h(t));
        for (const w of tasks.get(t.id) ?? []) safely(() => w.onTask?.(t));
        return;
      }
      case 'events': {
        const items = f.items as TaskEvent[] | undefined;
        const watchers = tasks.get(String(f.taskId));
        if (!items || !watchers) return;
        for (const w of watchers) safely(() => w.onEvents(items));
        return;
      }
      case 'error': {
        const code = String(f.code);
        const message = String(f.message ?? '');
        if (code === 'unauthorized') return; // the close (4401) that follows says it
        if (code === 'stream_failed') {
          // The server could not read events for a subscription: resubscribe
          // every task from what we hold (duplicates are dropped by seq).
          for (const id of tasks.keys()) subscribeTask(id);
          return;
        }
        const taskId = typeof f.taskId === 'string' ? f.taskId : undefined;
        if (taskId) for (const w of tasks.get(taskId) ?? []) safely(() => w.onError?.(code, message));
        return;
      }
      default:
        return; // 'subscribed', 'pong': lastHeard is all they are for
    }
  }

  function scheduleReconnect(attempt: number, reason: string): void {
    const delay = backoffDelay(attempt - 1, random, backoff);
    setStatus({ state: 'reconnecting', attempt, retryAt: Date.now() + delay, reason });
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  function startPing(): void {
    stopPing();
    pingTimer = setInterval(() => {
      if (!socket || !ready) return;
      if (Date.now() - lastHeard > pingIntervalMs + silenceMs) {
        // Nothing heard, not even a pong: the connection is dead without having said so.
        socket.close(4000, 'no answer to pings');
        return;
      }
      send({ type: 'ping' });
    }, pingIntervalMs);
  }
  function stopPing(): void {
    clearInterval(pingTimer);
    pingTimer = undefined;
  }

  connect();

  return {
    status: () => status,
    onStatus(l: (s: StreamStatus) => void): () => void {
      statusListeners.add(l);
      return () => statusListeners.delete(l);
    },
    /** Called each time the connection is back after a drop (refetch what may have changed meanwhile). */
    onResume(l: () => void): () => void {
      resumeListeners.add(l);
      return () => resumeListeners.delete(l);
    },

    watchWorkspace(workspaceId: string, onTask: (t: Task) => void): () => void {
      let set = workspaces.get(workspaceId);
      if (!set) {
        set = new Set();
        workspaces.set(workspaceId, set);
        send({ type: 'subscribe', workspaceId });
      }
      set.add(onTask);
      return () => {
        set.delete(onTask);
        if (set.size === 0 && workspaces.get(workspaceId) === set) {
          workspaces.delete(workspaceId);
          send({ type: 'unsubscribe', workspaceId });
        }
      };
    },

    watchTask(taskId: string, watcher: TaskWatcher): () => void {
      let set = tasks.get(taskId);
      const first = !set;
      if (!set) {
        set = new Set();
        tasks.set(taskId, set);
      }
      set.add(watcher);
      if (first) subscribeTask(taskId);
      return () => {
        set.delete(watcher);
        if (set.size === 0 && tasks.get(taskId) === set) {
          tasks.delete(taskId);
          send({ type: 'unsubscribe', taskId });
        }
      };
    },

    /** Skip the rest of the backoff wait (the browser came back online, the user clicked "retry"). */
    reconnectNow(): void {
      if (closed || status.state !== 'reconnecting') return;
      clearTimeout(retryTimer);
      connect();
    },

    close(): void {
      closed = true;
      clearTimeout(retryTimer);
      stopPing();
      const s = socket;
      socket = undefined;
      s?.close(1000, 'bye');
      setStatus({ state: 'closed', attempt: 0 });
    },
  };
}

/** A listener's exception must not break the stream for the others. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.error('stream listener failed', err);
  }
}

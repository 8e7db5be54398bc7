/**
 * Following a task live: the stream WebSocket, resumed from the last seq
 * after any disconnect (with exponential backoff and jitter), ending when the
 * task settles — after a last read of the REST transcript, so the final lines
 * are never cut off by a status change that overtook them.
 */
import WebSocket from 'ws';
import type { Task, TaskEvent } from '../core/api.js';
import { isTerminal } from '../core/taskState.js';
import type { SwitchyardClient } from './index.js';

export type StreamItem = { type: 'event'; event: TaskEvent } | { type: 'task'; task: Task } | { type: 'reconnecting'; attempt: number; error: string };

export interface FollowOptions {
  /** Start after this seq (0: from the beginning). */
  afterSeq?: number;
  /** Stop when the task is blocked, too (default true); terminal states always stop. */
  stopWhenBlocked?: boolean;
  signal?: AbortSignal;
  /** Give up after the server has been unreachable this long (default 60 s). */
  reconnectForMs?: number;
}

/** Done for good: terminal (a failure with a retry scheduled is not), or blocked when asked to stop there. */
export function settled(task: Task, stopWhenBlocked: boolean): boolean {
  if (task.status === 'failed' && task.runAfter !== null) return false;
  return isTerminal(task.status) || (stopWhenBlocked && task.status === 'blocked');
}

export async function* followTask(client: SwitchyardClient, taskId: string, opts: FollowOptions = {}): AsyncGenerator<StreamItem> {
  let lastSeq = opts.afterSeq ?? 0;
  const stopWhenBlocked = opts.stopWhenBlocked ?? true;
  const wsUrl = `${client.url.replace(/^http/, 'ws')}/api/v1/stream`;
  let failures = 0;
  let downSince: number | undefined;

  while (!opts.signal?.aborted) {
    const queue: unknown[] = [];
    let wake: (() => void) | undefined;
    let closed: string | undefined;
    const ws = new WebSocket(wsUrl);
    const push = (item: unknown) => {
      queue.push(item);
      wake?.();
    };
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'auth', token: client.token }));
      ws.send(JSON.stringify({ type: 'subscribe', taskId, afterSeq: lastSeq }));
    });
    ws.on('message', (data) => {
      try {
        push(JSON.parse(data.toString()));
      } catch {
        // A frame we cannot read is skipped; the transcript is re-read on settle.
      }
    });
    ws.on('close', (code, reason) => {
      closed = `closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`;
      wake?.();
    });
    ws.on('error', (err) => {
      closed = err.message;
      wake?.();
    });
    const onAbort = () => ws.close();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    let done = false;
    try {
      for (;;) {
        if (queue.length === 0) {
          if (closed !== undefined) break;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        const frame = queue.shift() as { type?: string; items?: TaskEvent[]; task?: Task; code?: string; message?: string };
        failures = 0;
        downSince = undefined;
        if (frame.type === 'events' && frame.items) {
          for (const e of frame.items) {
            if (e.seq <= lastSeq) continue;
            lastSeq = e.seq;
            yield { type: 'event', event: e };
          }
        } else if (frame.type === 'task' && frame.task) {
          yield { type: 'task', task: frame.task };
          if (settled(frame.task, stopWhenBlocked)) {
            done = true;
            break;
          }
        } else if (frame.type === 'error') {
          if (frame.code === 'not_found' || frame.code === 'unauthorized') throw new Error(frame.message ?? frame.code);
        }
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      ws.removeAllListeners('close');
      ws.on('error', () => undefined);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
    }

    if (done) {
      // Lines that were stored before the final status may still be in flight on the socket.
      for (;;) {
        const page = await client.tasks.events(taskId, lastSeq, 1000);
        for (const e of page.items) {
          if (e.seq <= lastSeq) continue;
          lastSeq = e.seq;
          yield { type: 'event', event: e };
        }
        if (page.next === null) return;
      }
    }
    if (opts.signal?.aborted) return;
    failures++;
    downSince ??= Date.now();
    if (Date.now() - downSince > (opts.reconnectForMs ?? 60_000)) {
      throw new Error(`lost the stream to ${client.url} and could not reconnect: ${closed ?? 'unknown error'}`);
    }
    yield { type: 'reconnecting', attempt: failures, error: closed ?? 'closed' };
    const delay = Math.min(5_000, 200 * 2 ** Math.min(failures, 5));
    await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * (delay / 2)));
  }
}

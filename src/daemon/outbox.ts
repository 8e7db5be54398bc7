/**
 * Everything a run reports that must not be lost (`started`, `events`,
 * `finished`) is appended to a file per run before it is sent, and kept
 * until the server acknowledges it. After a reconnect — or a restart of the
 * daemon — the unacknowledged frames are sent again, in order; the server
 * stores them idempotently.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type OutboxFrame =
  | { type: 'started'; taskId: string; attempt: number; [k: string]: unknown }
  | { type: 'events'; taskId: string; attempt: number; events: { seq: number }[]; [k: string]: unknown }
  | { type: 'finished'; taskId: string; attempt: number; lastSeq: number; [k: string]: unknown };

interface RunBox {
  fd: number;
  path: string;
  frames: OutboxFrame[];
}

const key = (taskId: string, attempt: number) => `${taskId}.${attempt}`;

export class Outbox {
  private readonly runs = new Map<string, RunBox>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Reads what a previous process left behind. */
  load(): { taskId: string; attempt: number; finished: boolean; lastSeq: number }[] {
    const found: { taskId: string; attempt: number; finished: boolean; lastSeq: number }[] = [];
    for (const name of readdirSync(this.dir)) {
      const m = /^([0-9a-f-]{36})\.(\d+)\.jsonl$/.exec(name);
      if (!m) continue;
      const path = join(this.dir, name);
      const frames: OutboxFrame[] = [];
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          frames.push(JSON.parse(line) as OutboxFrame);
        } catch {
          // A line cut short by a crash mid-write; everything before it is intact.
        }
      }
      const fd = openSync(path, 'a');
      this.runs.set(key(m[1]!, Number(m[2])), { fd, path, frames });
      found.push({ taskId: m[1]!, attempt: Number(m[2]), finished: frames.some((f) => f.type === 'finished'), lastSeq: lastSeqOf(frames) });
    }
    return found;
  }

  append(frame: OutboxFrame): void {
    const k = key(frame.taskId, frame.attempt);
    let box = this.runs.get(k);
    if (!box) {
      const path = join(this.dir, `${k}.jsonl`);
      box = { fd: openSync(path, 'a'), path, frames: [] };
      this.runs.set(k, box);
    }
    writeSync(box.fd, `${JSON.stringify(frame)}\n`);
    box.frames.push(frame);
  }

  /** The server stored events up to `seq`; with `finished`, the whole run is done. */
  ack(taskId: string, attempt: number, seq: number, finished: boolean): void {
    const k = key(taskId, attempt);
    const box = this.runs.get(k);
    if (!box) return;
    if (finished) {
      this.drop(taskId, attempt);
      return;
    }
    box.frames = box.frames.filter((f) => {
      if (f.type === 'started') return false;
      if (f.type === 'events') return f.events[f.events.length - 1]!.seq > seq;
      return true;
    });
  }

  drop(taskId: string, attempt: number): void {
    const k = key(taskId, attempt);
    const box = this.runs.get(k);
    if (!box) return;
    this.runs.delete(k);
    try {
      closeSync(box.fd);
      unlinkSync(box.path);
    } catch {
      // Already gone.
    }
  }

  /** Unacknowledged frames, run by run, oldest first. */
  pending(): OutboxFrame[] {
    return [...this.runs.values()].flatMap((b) => b.frames);
  }

  runsPending(): { taskId: string; attempt: number }[] {
    return [...this.runs.keys()].map((k) => {
      const [taskId, attempt] = k.split('.');
      return { taskId: taskId!, attempt: Number(attempt) };
    });
  }

  has(taskId: string, attempt: number): boolean {
    return this.runs.has(key(taskId, attempt));
  }

  close(): void {
    for (const b of this.runs.values()) {
      try {
        closeSync(b.fd);
      } catch {
        // ignore
      }
    }
    this.runs.clear();
  }
}

function lastSeqOf(frames: OutboxFrame[]): number {
  let last = 0;
  for (const f of frames) if (f.type === 'events') last = Math.max(last, f.events[f.events.length - 1]!.seq);
  return last;
}

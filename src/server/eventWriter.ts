/**
 * Group commit for agent output. Frames from every runtime connection are
 * queued; one insert writes everything queued so far, and whatever arrives
 * while it runs goes into the next one. Each frame's promise resolves when
 * its rows are stored, which is when the runtime may be acknowledged. With
 * 50 agents × 100 lines/s this turns thousands of single-frame inserts per
 * second into a few dozen multi-run ones (bench/dispatch).
 */
import type { Db } from '../store/db.js';
import { insertEventBatches, type EventBatch } from '../store/events.js';

interface Pending {
  batch: EventBatch;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface EventWriter {
  write(batch: EventBatch): Promise<void>;
  /** Resolves when everything queued so far is written (or failed). */
  drain(): Promise<void>;
}

export function createEventWriter(db: Db, maxRows = 5_000): EventWriter {
  let queue: Pending[] = [];
  let running: Promise<void> | undefined;

  const run = async () => {
    while (queue.length > 0) {
      let rows = 0;
      let take = 0;
      while (take < queue.length && (take === 0 || rows + queue[take]!.batch.events.length <= maxRows)) rows += queue[take++]!.batch.events.length;
      const group = queue.slice(0, take);
      queue = queue.slice(take);
      try {
        await insertEventBatches(db, group.map((p) => p.batch));
        for (const p of group) p.resolve();
      } catch (err) {
        for (const p of group) p.reject(err);
      }
    }
  };

  const kick = () => {
    running ??= run().finally(() => {
      running = undefined;
      if (queue.length > 0) kick();
    });
  };

  return {
    write(batch) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ batch, resolve, reject });
        // Next tick, so frames that arrive in the same burst share the insert.
        if (!running) setImmediate(kick);
      });
    },
    async drain() {
      while (running || queue.length > 0) {
        if (running) await running;
        else await new Promise((r) => setImmediate(r));
      }
    },
  };
}

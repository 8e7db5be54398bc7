/**
 * One task's transcript as the dashboard holds it: events kept in seq order,
 * each seq at most once. Whatever delivers events — the live stream, a
 * resubscription after a reconnect, a frame sent twice — goes through `add`,
 * so the page can never show a line twice or out of order (issue 6).
 *
 * Pure TypeScript with no DOM: test/web/transcript.test.ts runs it in Node.
 */
import type { TaskEvent } from '../../../src/core/api.js';

type Listener = () => void;

export class Transcript {
  private readonly items: TaskEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private snapshot: readonly TaskEvent[] = [];
  private dirty = false;
  /** Events dropped because their seq was already there (for tests and diagnostics). */
  duplicates = 0;

  /** Highest seq held: where a resubscription resumes (`afterSeq`). */
  get lastSeq(): number {
    return this.items.at(-1)?.seq ?? 0;
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds events, keeping seq order and dropping seqs already held; answers how many were new. */
  add(events: readonly TaskEvent[]): number {
    let added = 0;
    for (const e of events) {
      const last = this.items.at(-1);
      if (!last || e.seq > last.seq) {
        // The usual case: the next line of a live stream.
        this.items.push(e);
        added++;
        continue;
      }
      // Older than the newest: insert in place unless it is already there.
      const i = lowerBound(this.items, e.seq);
      if (this.items[i]?.seq === e.seq) {
        this.duplicates++;
        continue;
      }
      this.items.splice(i, 0, e);
      added++;
    }
    if (added > 0) {
      this.dirty = true;
      for (const l of this.listeners) l();
    }
    return added;
  }

  /** An immutable view that changes identity only when events were added (for useSyncExternalStore). */
  events(): readonly TaskEvent[] {
    // Copied lazily: a burst of batches between two renders costs one copy.
    if (this.dirty) {
      this.snapshot = this.items.slice();
      this.dirty = false;
    }
    return this.snapshot;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Index of the first event whose seq is >= `seq`. */
function lowerBound(items: readonly TaskEvent[], seq: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The transcript of a task: agent output as sequenced events. */
import type { TaskEvent } from '../core/api.js';
import type { Queryable } from './db.js';
import { toEvent } from './rows.js';
import { sql } from './sql.js';

export interface EventInput {
  seq: number;
  at: string;
  stream: 'stdout' | 'stderr' | 'system';
  kind: string;
  text?: string;
  data?: Record<string, unknown>;
  raw: string;
}

/** Stores a batch idempotently; answers how many rows were new. */
export async function insertEvents(q: Queryable, taskId: string, attempt: number, events: readonly EventInput[]): Promise<number> {
  if (events.length === 0) return 0;
  const { rowCount } = await q.query(sql('insert_events'), [
    taskId,
    attempt,
    events.map((e) => e.seq),
    events.map((e) => e.at),
    events.map((e) => e.stream),
    events.map((e) => e.kind),
    events.map((e) => e.text ?? null),
    events.map((e) => (e.data ? JSON.stringify(e.data) : null)),
    events.map((e) => e.raw),
  ]);
  return rowCount ?? 0;
}

export async function listEvents(q: Queryable, taskId: string, after: number, limit: number): Promise<{ items: TaskEvent[]; next: number | null }> {
  const { rows } = await q.query('SELECT * FROM task_events WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [taskId, after, limit + 1]);
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(toEvent);
  return { items, next: more ? (items[items.length - 1]?.seq ?? null) : null };
}

export async function nextSeq(q: Queryable, taskId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT coalesce(max(seq), 0) + 1 AS n FROM task_events WHERE task_id = $1', [taskId]);
  return Number(rows[0]?.n ?? 1);
}

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

export interface EventBatch {
  taskId: string;
  attempt: number;
  events: readonly EventInput[];
}

/**
 * Agent output is stored as printed, except NUL: PostgreSQL text and jsonb
 * cannot hold it, and one agent that prints a binary file would otherwise
 * fail the whole group insert — every runtime's lines in it — on every resend.
 */
const REPLACEMENT = '\uFFFD';
function storable(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', REPLACEMENT) : s;
}
/** The same for serialized JSON, where NUL is the escape `\u0000` (not preceded by an escaped backslash). */
function storableJson(json: string): string {
  return json.includes('\\u0000') ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : json;
}

/** Stores batches of one or more runs idempotently, in one statement; answers how many rows were new. */
export async function insertEventBatches(q: Queryable, batches: readonly EventBatch[]): Promise<number> {
  const cols: unknown[][] = [[], [], [], [], [], [], [], [], []];
  for (const b of batches) {
    for (const e of b.events) {
      cols[0]!.push(b.taskId);
      cols[1]!.push(b.attempt);
      cols[2]!.push(e.seq);
      cols[3]!.push(e.at);
      cols[4]!.push(e.stream);
      cols[5]!.push(e.kind);
      cols[6]!.push(e.text === undefined ? null : storable(e.text));
      cols[7]!.push(e.data ? storableJson(JSON.stringify(e.data)) : null);
      cols[8]!.push(storable(e.raw));
    }
  }
  if (cols[0]!.length === 0) return 0;
  const { rowCount } = await q.query(sql('insert_events'), cols);
  return rowCount ?? 0;
}

export async function insertEvents(q: Queryable, taskId: string, attempt: number, events: readonly EventInput[]): Promise<number> {
  return insertEventBatches(q, [{ taskId, attempt, events }]);
}

export async function listEvents(q: Queryable, taskId: string, after: number, limit: number): Promise<{ items: TaskEvent[]; next: number | null }> {
  const { rows } = await q.query('SELECT * FROM task_events WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [taskId, after, limit + 1]);
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(toEvent);
  return { items, next: more ? (items[items.length - 1]?.seq ?? null) : null };
}

/**
 * Retention work (DESIGN.md §7), as store operations: transcripts dropped
 * by whole daily partitions, finished tasks folded into daily aggregates and
 * then deleted, old aggregates and health samples removed, audit months
 * past their own retention dropped.
 */
import { rebaseAuditChains } from './audit.js';
import type { Db, Queryable } from './db.js';
import { sql } from './sql.js';

const DAY = 86_400_000;

export function utcDay(t: Date | number): Date {
  const d = new Date(t);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

/** Daily partitions of task_events whose whole day lies before `before`; they are dropped, not emptied. */
export async function dropExpiredEventPartitions(db: Db, before: Date): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'task_events' AND c.relname ~ '^task_events_[0-9]{8}$' ORDER BY c.relname`,
  );
  const dropped: string[] = [];
  for (const { name } of rows) {
    const d = name.slice(-8);
    const dayEnd = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8))) + DAY;
    if (dayEnd > before.getTime()) continue;
    // The name matched ^task_events_[0-9]{8}$ above: safe as an identifier.
    await db.query(`DROP TABLE IF EXISTS ${name}`);
    dropped.push(name);
  }
  // Rows that landed in the default partition (a daemon's clock was off) expire too.
  await db.query('DELETE FROM task_events_default WHERE at < $1', [before.toISOString()]);
  return dropped;
}

/** Recomputes the aggregates of the days [from, to) from the tasks still present; answers the rows written. */
export async function foldDailyMetrics(q: Queryable, from: Date, to: Date): Promise<number> {
  const { rowCount } = await q.query(sql('fold_metrics_daily'), [from.toISOString(), to.toISOString()]);
  return rowCount ?? 0;
}

/** The first day with finished tasks older than `before` (they must be folded before they are deleted). */
export async function oldestFinished(q: Queryable): Promise<Date | undefined> {
  const { rows } = await q.query<{ t: Date | null }>('SELECT min(finished_at) AS t FROM tasks WHERE finished_at IS NOT NULL');
  return rows[0]?.t ? new Date(rows[0].t) : undefined;
}

/** Deletes finished tasks (with their runs, timelines and events) that finished before `before`. */
export async function deleteFinishedTasks(q: Queryable, before: Date, batch = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    // Small batches keep each transaction short (PGlite runs one at a time).
    const { rowCount } = await q.query(
      `DELETE FROM tasks WHERE id IN (
         SELECT id FROM tasks WHERE finished_at < $1 AND status IN ('completed', 'failed', 'cancelled') LIMIT $2)`,
      [before.toISOString(), batch],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < batch) return total;
  }
}

export async function deleteOldMetrics(q: Queryable, before: Date): Promise<number> {
  const { rowCount } = await q.query('DELETE FROM metrics_daily WHERE day < $1::date', [before.toISOString()]);
  return rowCount ?? 0;
}

export async function deleteOldHealth(q: Queryable, before: Date): Promise<number> {
  const { rowCount } = await q.query('DELETE FROM daemon_health WHERE at < $1', [before.toISOString()]);
  return rowCount ?? 0;
}

/**
 * Monthly partitions of audit_log whose whole month lies before `before`.
 * Each chain's base first moves past the records about to go, in the same
 * transaction, so `audit verify` starts after them instead of calling the
 * chain broken — and a failed drop leaves the base where it was.
 */
export async function dropExpiredAuditPartitions(db: Db, before: Date): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'audit_log' AND c.relname ~ '^audit_log_[0-9]{6}$' ORDER BY c.relname`,
  );
  const expired = rows.filter(({ name }) => monthEnd(name) <= before.getTime()).map((r) => r.name);
  if (expired.length === 0) return [];
  const upTo = new Date(monthEnd(expired.at(-1)!));
  await db.tx(async (q) => {
    await rebaseAuditChains(q, upTo);
    // The names matched ^audit_log_[0-9]{6}$ above: safe as identifiers.
    for (const name of expired) await q.query(`DROP TABLE IF EXISTS ${name}`);
    // Records of those months that sat in the default partition (written before their month's partition existed) go too.
    await q.query('DELETE FROM audit_log_default WHERE at < $1', [upTo.toISOString()]);
  });
  return expired;
}

/** The first instant after the month of `audit_log_YYYYMM`. */
function monthEnd(partition: string): number {
  const ym = partition.slice(-6);
  return Date.UTC(Number(ym.slice(0, 4)), Number(ym.slice(4, 6)), 1);
}

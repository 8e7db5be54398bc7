/**
 * Work that one server at a time may do (maintenance, a model's search-effort
 * calibration): a session-level advisory lock on a reserved connection, tried
 * once, so the others skip instead of queueing behind it. The lock goes with
 * the connection, so a server that dies mid-work holds nothing.
 *
 * PGlite is one process with one connection: there is nobody to exclude, and
 * holding its only connection for the lock would block the work itself.
 */
import type { Db, Queryable } from './db.js';

/** A number as pg_try_advisory_lock takes it, or a name hashed to one. */
export type LockKey = number | string;

const lockArg = (key: LockKey) => (typeof key === 'number' ? '$1::bigint' : 'hashtextextended($1, 0)');

export async function exclusively<T>(db: Db, key: LockKey, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
  if (db.kind === 'pglite') return { ran: true, value: await work() };
  return db.withConnection(async (c: Queryable) => {
    const got = await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${lockArg(key)}) AS ok`, [key]);
    if (!got.rows[0]?.ok) return { ran: false };
    try {
      return { ran: true, value: await work() };
    } finally {
      await c.query(`SELECT pg_advisory_unlock(${lockArg(key)})`, [key]);
    }
  });
}

/**
 * Daily partitions of `task_events` and monthly ones of `audit_log`, created
 * ahead of time so inserts never fall into the default partition (which
 * catches only odd timestamps).
 */
import { PgCode, pgErrorCode, type Db } from './db.js';

const DAY = 86_400_000;

function dayName(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function eventPartitionName(d: Date): string {
  return `task_events_${dayName(d).replaceAll('-', '')}`;
}

/** Creates the partitions from `back` days ago to `ahead` days from now; answers the ones it created. */
export async function ensureEventPartitions(db: Db, now = new Date(), back = 1, ahead = 7): Promise<string[]> {
  const created: string[] = [];
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (let i = -back; i <= ahead; i++) {
    const from = new Date(today + i * DAY);
    const to = new Date(today + (i + 1) * DAY);
    const name = eventPartitionName(from);
    if (await ensureRangePartition(db, 'task_events', name, from, to)) created.push(name);
  }
  return created;
}

/** audit_log_YYYYMM: the month (UTC) that `d` falls in. */
export function auditPartitionName(d: Date): string {
  return `audit_log_${d.toISOString().slice(0, 7).replace('-', '')}`;
}

/** Creates the monthly audit partitions from `back` months ago to `ahead` months from now; answers the ones it created. */
export async function ensureAuditPartitions(db: Db, now = new Date(), back = 0, ahead = 2): Promise<string[]> {
  const created: string[] = [];
  for (let i = -back; i <= ahead; i++) {
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
    const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i + 1, 1));
    const name = auditPartitionName(from);
    if (await ensureRangePartition(db, 'audit_log', name, from, to)) created.push(name);
  }
  return created;
}

/**
 * Creates partition `name` of `parent` (range [from, to) on `at`) unless it
 * exists; answers whether this call created it. `parent`'s default
 * partition is `<parent>_default`.
 */
async function ensureRangePartition(db: Db, parent: 'task_events' | 'audit_log', name: string, from: Date, to: Date): Promise<boolean> {
  const exists = await db.query(`SELECT to_regclass($1) AS t`, [name]);
  if (exists.rows[0]?.t) return false;
  // Identifiers cannot be parameters; the name is built from a date, never from input.
  const bounds = `FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`;
  try {
    await db.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${parent} FOR VALUES ${bounds}`);
    return true;
  } catch (err) {
    const code = pgErrorCode(err);
    if (code === PgCode.checkViolation) {
      // The default partition already holds rows of that range (a daemon whose
      // clock ran ahead, records written before the partition was made): move
      // them into the new partition as it is attached.
      await db.tx(async (q) => {
        await q.query(`CREATE TABLE ${name} (LIKE ${parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
        await q.query(`WITH moved AS (DELETE FROM ${parent}_default WHERE at >= $1 AND at < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`, [from.toISOString(), to.toISOString()]);
        await q.query(`ALTER TABLE ${parent} ATTACH PARTITION ${name} FOR VALUES ${bounds}`);
      });
      return true;
    }
    if (code !== PgCode.duplicateTable && code !== PgCode.uniqueViolation) {
      // Not "another server created it between our check and our CREATE".
      throw err;
    }
    return false;
  }
}

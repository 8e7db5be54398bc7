/**
 * Daily partitions of `task_events`, created ahead of time so inserts never
 * fall into the default partition (which catches only odd timestamps).
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
    const exists = await db.query(`SELECT to_regclass($1) AS t`, [name]);
    if (exists.rows[0]?.t) continue;
    try {
      // Identifiers cannot be parameters; the name is built from a date above, never from input.
      await db.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF task_events FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`);
      created.push(name);
    } catch (err) {
      // Another server created it between our check and our CREATE.
      if (pgErrorCode(err) !== PgCode.duplicateTable && pgErrorCode(err) !== PgCode.uniqueViolation) throw err;
    }
  }
  return created;
}

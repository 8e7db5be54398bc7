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
    // Identifiers cannot be parameters; the name is built from a date above, never from input.
    const bounds = `FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`;
    try {
      await db.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF task_events FOR VALUES ${bounds}`);
      created.push(name);
    } catch (err) {
      const code = pgErrorCode(err);
      if (code === PgCode.checkViolation) {
        // The default partition already holds rows of that day (a daemon whose
        // clock ran ahead): move them into the new partition as it is attached.
        await db.tx(async (q) => {
          await q.query(`CREATE TABLE ${name} (LIKE task_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
          await q.query(`WITH moved AS (DELETE FROM task_events_default WHERE at >= $1 AND at < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`, [from.toISOString(), to.toISOString()]);
          await q.query(`ALTER TABLE task_events ATTACH PARTITION ${name} FOR VALUES ${bounds}`);
        });
        created.push(name);
      } else if (code !== PgCode.duplicateTable && code !== PgCode.uniqueViolation) {
        // Not "another server created it between our check and our CREATE".
        throw err;
      }
    }
  }
  return created;
}

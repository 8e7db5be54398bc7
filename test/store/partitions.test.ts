/**
 * Daily partitions of task_events, made ahead of time so a day's events land
 * in that day's table; retention then drops whole days.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertEvents } from '../../src/store/events.js';
import { ensureEventPartitions, eventPartitionName } from '../../src/store/partitions.js';
import { insertTask } from '../../src/store/tasks.js';
import { createWorkspace } from '../../src/store/workspaces.js';
import { createTestDb, itOnPostgres, type TestDb } from '../helpers/db.js';
import { track, untrack } from '../helpers/leaks.js';

let db: TestDb;
let taskId: string;
beforeAll(async () => {
  db = await createTestDb();
  track(db, 'test database');
  await createWorkspace(db, { id: 'parts' });
  taskId = (await insertTask(db, { workspaceId: 'parts', assignedAgent: 'codex', prompt: 'p' })).id;
});
afterAll(async () => {
  await db?.close();
  untrack(db);
});

/** The partitions of task_events and their bounds, by name. */
async function partitions(): Promise<Record<string, string>> {
  const { rows } = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'task_events'::regclass ORDER BY c.relname`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.bound]));
}

/** The partition an event at `at` was stored in. */
async function partitionOf(at: string): Promise<string> {
  const { rows } = await db.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM task_events WHERE task_id = $1 AND at = $2`, [taskId, at]);
  return rows[0]!.p;
}

const event = (seq: number, at: string) => ({ seq, at, stream: 'stdout' as const, kind: 'text', text: 'x', raw: 'x' });

describe('ensureEventPartitions', () => {
  it('names a partition after its UTC day', () => {
    expect(eventPartitionName(new Date('2031-03-09T23:59:59.999Z'))).toBe('task_events_20310309');
    expect(eventPartitionName(new Date('2031-03-10T00:00:00+02:00'))).toBe('task_events_20310309');
  });

  it('creates one partition per day from `back` days ago to `ahead` days on, covering whole UTC days', async () => {
    const now = new Date('2031-03-10T15:30:00Z');
    const created = await ensureEventPartitions(db, now, 1, 2);
    expect(created).toEqual(['task_events_20310309', 'task_events_20310310', 'task_events_20310311', 'task_events_20310312']);
    const bounds = await partitions();
    expect(bounds).toHaveProperty('task_events_default', 'DEFAULT');
    for (const name of created) {
      const day = `${name.slice(12, 16)}-${name.slice(16, 18)}-${name.slice(18, 20)}`;
      const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      expect(bounds[name]).toMatch(new RegExp(`FROM \\('${day} 00:00:00\\+00'\\) TO \\('${next} 00:00:00\\+00'\\)`));
    }
  });

  it('is idempotent: a second call creates nothing and changes nothing', async () => {
    const now = new Date('2031-03-10T15:30:00Z');
    await ensureEventPartitions(db, now, 1, 2);
    const before = await partitions();
    expect(await ensureEventPartitions(db, now, 1, 2)).toEqual([]);
    expect(await partitions()).toEqual(before);
    // Overlapping windows only add the missing days.
    expect(await ensureEventPartitions(db, new Date('2031-03-12T01:00:00Z'), 0, 2)).toEqual(['task_events_20310313', 'task_events_20310314']);
  });

  it('puts each event in the partition of its day, the last millisecond of a day included', async () => {
    await ensureEventPartitions(db, new Date('2031-03-10T12:00:00Z'), 1, 2);
    await insertEvents(db, taskId, 1, [event(1, '2031-03-10T23:59:59.999Z'), event(2, '2031-03-11T00:00:00.000Z'), event(3, '2031-03-09T00:00:00.000Z')]);
    expect(await partitionOf('2031-03-10T23:59:59.999Z')).toBe('task_events_20310310');
    expect(await partitionOf('2031-03-11T00:00:00.000Z')).toBe('task_events_20310311');
    expect(await partitionOf('2031-03-09T00:00:00.000Z')).toBe('task_events_20310309');
  });

  it('catches an event outside every daily partition (a daemon with a wrong clock) in the default one', async () => {
    await insertEvents(db, taskId, 1, [event(10, '1999-12-31T12:00:00.000Z')]);
    expect(await partitionOf('1999-12-31T12:00:00.000Z')).toBe('task_events_default');
  });

  it('still creates a day’s partition when a clock-skewed event of that day already sits in the default one', async () => {
    // A daemon whose clock runs 30 days ahead sent an event; 30 days later the maintenance job makes that day's partition.
    await insertEvents(db, taskId, 1, [event(11, '2031-04-09T08:00:00.000Z')]);
    expect(await partitionOf('2031-04-09T08:00:00.000Z')).toBe('task_events_default');
    await expect(ensureEventPartitions(db, new Date('2031-04-09T00:30:00Z'), 0, 0)).resolves.toEqual(['task_events_20310409']);
    const { rows } = await db.query(`SELECT seq FROM task_events WHERE task_id = $1 AND seq = 11`, [taskId]);
    expect(rows).toHaveLength(1);
  });

  itOnPostgres('lets two servers create the same partitions at once (PostgreSQL)', async () => {
    const now = new Date('2032-06-01T12:00:00Z');
    const days = ['20320601', '20320602', '20320603', '20320604', '20320605', '20320606'].map((d) => `task_events_${d}`);
    const [a, b] = await Promise.all([ensureEventPartitions(db, now, 0, 5), ensureEventPartitions(db, now, 0, 5)]);
    // Both succeed between them every day is made. (Both may claim a day: CREATE TABLE IF NOT EXISTS does not say who won.)
    expect([...new Set([...a, ...b])].sort()).toEqual(days);
    const bounds = await partitions();
    for (const d of days) expect(bounds).toHaveProperty(d);
    expect(await ensureEventPartitions(db, now, 0, 5)).toEqual([]);
  });
});

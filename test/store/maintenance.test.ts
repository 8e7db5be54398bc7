import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/config.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { auditMaintenance } from '../../src/server/audit.js';
import { runMaintenance } from '../../src/server/maintenance.js';
import { appendAudit, verifyAuditChain } from '../../src/store/audit.js';
import { insertEvents } from '../../src/store/events.js';
import { ensureAuditPartitions, ensureEventPartitions } from '../../src/store/partitions.js';
import { insertTask } from '../../src/store/tasks.js';
import { createWorkspace } from '../../src/store/workspaces.js';

const DAY = 86_400_000;
const NOW = new Date('2026-11-26T10:00:00Z');

async function partitions(db: TestDb): Promise<string[]> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT c.relname AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'task_events' AND c.relname ~ '^task_events_[0-9]{8}$' ORDER BY 1`,
  );
  return rows.map((r) => r.n);
}

/** A finished task of `ws` whose single run finished `daysAgo` days before NOW, with one event that day. */
async function finishedTask(db: TestDb, ws: string, daysAgo: number, status: 'completed' | 'failed', failureClass: string | null = null) {
  const t = await insertTask(db, { workspaceId: ws, assignedAgent: 'a', prompt: `p ${daysAgo}` });
  const at = new Date(NOW.getTime() - daysAgo * DAY);
  await db.query(`UPDATE tasks SET status = $2, finished_at = $3, attempt = 1 WHERE id = $1`, [t.id, status, at.toISOString()]);
  await db.query(
    `INSERT INTO task_runs (task_id, attempt, agent, status, started_at, ended_at, failure_class, usage, cost_usd)
     VALUES ($1, 1, 'a', $2, $3::timestamptz - interval '2 seconds', $3, $4, '{"inputTokens": 100, "outputTokens": 10}', 0.5)`,
    [t.id, status, at.toISOString(), failureClass],
  );
  await insertEvents(db, t.id, 1, [{ seq: 1, at: at.toISOString(), stream: 'stdout', kind: 'text', text: 'x', raw: 'x' }]);
  return t.id;
}

describe('maintenance', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
    await createWorkspace(db, { id: 'm' });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('drops only the transcript partitions whose whole day is past the retention', async () => {
    await ensureEventPartitions(db, new Date(NOW.getTime() - 40 * DAY), 0, 12); // days -40 … -28
    await ensureEventPartitions(db, NOW);
    const config = testConfig();
    const report = await runMaintenance(db, config, NOW);
    expect(report.ran).toBe(true);
    const left = await partitions(db);
    // Retention 30 days from 2026-11-26 10:00 is 2026-10-27 10:00: whole days before
    // 2026-10-27 are dropped; that day itself still holds events younger than 30 days.
    expect(report.droppedPartitions).toContain('task_events_20261017');
    expect(report.droppedPartitions).toContain('task_events_20261026');
    expect(report.droppedPartitions).not.toContain('task_events_20261027');
    expect(left).toContain('task_events_20261027');
    expect(left.every((n) => n >= 'task_events_20261027')).toBe(true);
    // …and partitions are created ahead.
    expect(left).toContain('task_events_20261203');
  });

  it('folds finished tasks into daily metrics, then deletes those past the task retention', async () => {
    const old = await finishedTask(db, 'm', 100, 'completed');
    await finishedTask(db, 'm', 100, 'failed', 'auth');
    const recent = await finishedTask(db, 'm', 1, 'completed');
    const report = await runMaintenance(db, testConfig(), NOW);
    expect(report.deletedTasks).toBe(2);
    const { rows: left } = await db.query<{ id: string }>('SELECT id FROM tasks WHERE workspace_id = $1', ['m']);
    expect(left.map((r) => r.id)).toEqual([recent]);
    expect(left.map((r) => r.id)).not.toContain(old);
    const { rows } = await db.query(`SELECT day::text AS day, status, failure_class, tasks, runs, duration_ms, input_tokens, cost_usd FROM metrics_daily WHERE workspace_id = 'm' ORDER BY day, status`);
    expect(rows).toEqual([
      { day: '2026-08-18', status: 'completed', failure_class: '', tasks: 1, runs: 1, duration_ms: 2000, input_tokens: 100, cost_usd: 0.5 },
      { day: '2026-08-18', status: 'failed', failure_class: 'auth', tasks: 1, runs: 1, duration_ms: 2000, input_tokens: 100, cost_usd: 0.5 },
      { day: '2026-11-25', status: 'completed', failure_class: '', tasks: 1, runs: 1, duration_ms: 2000, input_tokens: 100, cost_usd: 0.5 },
    ]);
    // Running it again changes nothing.
    const again = await runMaintenance(db, testConfig(), NOW);
    expect(again.deletedTasks).toBe(0);
    const { rows: same } = await db.query(`SELECT count(*)::int AS n, sum(tasks)::int AS t FROM metrics_daily WHERE workspace_id = 'm'`);
    expect(same[0]).toEqual({ n: 3, t: 3 });
  });

  it('drops daily metrics older than their own retention', async () => {
    await db.query(`INSERT INTO metrics_daily VALUES ('2025-01-01', 'm', 'a', 'completed', '', 1, 1, 1, 1, 1, 0)`);
    const report = await runMaintenance(db, testConfig(), NOW);
    expect(report.deletedMetrics).toBe(1);
  });
});

describe('audit retention', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
    await createWorkspace(db, { id: 'aud', auditLogEnabled: true });
  });
  afterAll(async () => {
    await db?.close();
  });

  const auditPartitions = async () =>
    (await db.query<{ n: string }>(
      `SELECT c.relname AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname = 'audit_log' AND c.relname ~ '^audit_log_[0-9]{6}$' ORDER BY 1`,
    )).rows.map((r) => r.n);
  const record = (at: Date) => appendAudit(db, { workspaceId: 'aud', actor: { kind: 'reaper', tokenId: null, role: null, clientAddress: null }, action: 'test.thing', targetType: null, targetId: null, at });

  it('drops only the months wholly past the audit retention, and the chain still verifies from there', async () => {
    // Records in 2024-09 … 2024-12 and now; retention 730 days from 2026-11-26 is 2024-11-26.
    for (const month of ['2024-09-10', '2024-10-10', '2024-11-10', '2024-11-30', '2024-12-10']) {
      const at = new Date(`${month}T12:00:00Z`);
      await ensureAuditPartitions(db, at, 0, 0);
      await record(at);
    }
    await record(NOW);
    expect((await verifyAuditChain(db, 'aud')).checked).toBe(6);
    const report = await runMaintenance(db, testConfig(), NOW, auditMaintenance(db, 730 * DAY));
    expect(report.extra.auditPartitions).toMatchObject({ dropped: ['audit_log_202409', 'audit_log_202410'] });
    const left = await auditPartitions();
    expect(left).not.toContain('audit_log_202410');
    // November 2024 is only partly past the retention: it stays whole.
    expect(left).toContain('audit_log_202411');
    expect(await verifyAuditChain(db, 'aud')).toMatchObject({ ok: true, checked: 4, firstSeq: 3 });
    // Nothing more to drop the next time.
    expect((await runMaintenance(db, testConfig(), NOW, auditMaintenance(db, 730 * DAY))).extra.auditPartitions).toMatchObject({ dropped: [] });
  });
});

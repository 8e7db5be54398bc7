/**
 * GET /api/v1/failures/patterns over runs that really failed: a real runtime
 * runs the fake agent (exit codes), and a command agent that prints a login
 * error, so the daemon classifies every failure itself. Workspace A gets
 * failures of three classes, two agents, two models and a missing one, and
 * three prompts, one of them failing in three tasks (one of those twice);
 * a cancelled run and a completed run that must not count. Workspace B fails
 * eleven times; none of that may ever reach A's answer, nor A's B's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwitchyardClient } from '../../src/client/index.js';
import type { CreateTaskBody, FailurePattern, FailurePatterns, Task } from '../../src/core/api.js';
import { sql } from '../../src/store/sql.js';
import { fakeAgent } from '../helpers/config.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { apiError, call, detailPaths, expectNothingInternal } from './http.js';

/** A command agent whose every run fails the way a CLI with an expired key does. */
const AUTHBOT = { name: 'authbot', binary: process.execPath, args: ['-e', "process.stderr.write('Error: 401 Unauthorized: invalid api key\\n'); process.exit(1)", '{prompt}'] };
/** CI machines are busy (2 CPUs): a runtime that throttled itself on load would make this slow. */
const CONFIG = { runtime: { cpu_threshold: 2 }, agents: [fakeAgent(), AUTHBOT] };
const BOOM = '--exit 3   boom\n  on the build step';

let s: TestServer;
let A: WorkspaceHandle;
let B: WorkspaceHandle;
let daemon: TestDaemon;
const ids = { boom1: '', boom2: '', boomTwice: '', missing: '', auth: '', cancelled: '', completed: '' };
const bIds: string[] = [];

async function settle(client: SwitchyardClient, id: string, status: Task['status'], attempt = 1): Promise<Task> {
  return until(
    async () => {
      const t = await client.tasks.get(id);
      return t.status === status && t.attempt === attempt && t.runAfter === null ? t : undefined;
    },
    `task ${id} to be ${status} after attempt ${attempt}`,
    20_000,
  );
}

/** Creates a task that will fail, and waits for its one attempt to fail. */
async function failOnce(client: SwitchyardClient, body: CreateTaskBody & { assignedAgent: string; agents?: undefined }): Promise<string> {
  const t = await client.tasks.create({ maxAttempts: 1, ...body });
  await settle(client, t.id, 'failed');
  return t.id;
}

async function patterns(client: SwitchyardClient, f: Parameters<SwitchyardClient['failures']['patterns']>[0] = {}): Promise<FailurePatterns> {
  return client.failures.patterns(f);
}

function byKey(p: FailurePatterns): Map<string | null, FailurePattern> {
  return new Map(p.items.map((i) => [i.key, i]));
}

beforeAll(async () => {
  s = await startTestServer({ config: CONFIG });
  A = await s.workspace('fp-a');
  B = await s.workspace('fp-b');
  daemon = await startTestDaemon(s.url, s.daemonToken, { config: CONFIG, name: 'fp-daemon' });
  const a = A.client();
  // One after another, so that "most recently failed first" has one right answer.
  ids.boom1 = await failOnce(a, { assignedAgent: 'fake', prompt: BOOM, model: 'm-1' });
  ids.boom2 = await failOnce(a, { assignedAgent: 'fake', prompt: BOOM, model: 'm-1' });
  ids.missing = await failOnce(a, { assignedAgent: 'fake', prompt: '--exit 127' });
  ids.auth = await failOnce(a, { assignedAgent: 'authbot', prompt: 'deploy the docs', model: 'm-2' });
  // The same task failing twice: two failed runs, one task.
  ids.boomTwice = await failOnce(a, { assignedAgent: 'fake', prompt: BOOM, model: 'm-1' });
  await a.tasks.retry(ids.boomTwice);
  await settle(a, ids.boomTwice, 'failed', 2);
  // A run stopped by a cancel is no failure; neither is a completed one.
  const hang = await a.tasks.create({ assignedAgent: 'fake', prompt: '--hang', maxAttempts: 1 });
  ids.cancelled = hang.id;
  await until(async () => (await a.tasks.get(hang.id)).status === 'executing', 'the hanging task to run', 20_000);
  await a.tasks.cancel(hang.id);
  await settle(a, hang.id, 'cancelled');
  const ok = await a.tasks.create({ assignedAgent: 'fake', prompt: '--lines 1' });
  ids.completed = ok.id;
  await settle(a, ok.id, 'completed');
  // Workspace B: more failures than A has, all alike, at once.
  const b = B.client();
  const created = await Promise.all(Array.from({ length: 11 }, () => b.tasks.create({ assignedAgent: 'fake', prompt: '--exit 5 other workspace', maxAttempts: 1 })));
  bIds.push(...created.map((t) => t.id));
  await Promise.all(bIds.map((id) => settle(b, id, 'failed')));
}, 180_000);

afterAll(async () => {
  await daemon?.stop();
  await s?.close();
});

describe('failure patterns of a workspace', () => {
  it('records the failures the way the patterns assume (the arrangement itself)', async () => {
    const runs = await A.client().tasks.runs(ids.cancelled);
    expect(runs.items.map((r) => r.status)).toEqual(['cancelled']);
    expect((await A.client().tasks.runs(ids.auth)).items.map((r) => r.failureClass)).toEqual(['auth']);
    expect((await A.client().tasks.runs(ids.missing)).items.map((r) => r.failureClass)).toEqual(['missing_executable']);
    expect((await A.client().tasks.runs(ids.boomTwice)).items.map((r) => [r.status, r.failureClass])).toEqual([
      ['failed', 'agent_error'],
      ['failed', 'agent_error'],
    ]);
  });

  it('groups by failure class by default, over the last 7 days, with the top agents of each class', async () => {
    const p = await patterns(A.client('viewer'));
    expect(p.groupBy).toBe('class');
    expect(Date.parse(p.since)).toBeGreaterThan(Date.now() - 7 * 86_400_000 - 60_000);
    expect(Date.parse(p.since)).toBeLessThanOrEqual(Date.now() - 7 * 86_400_000);
    expect(p.totalFailures).toBe(6);
    expect(p.totalGroups).toBe(3);
    expect(p.items[0]).toMatchObject({
      key: 'agent_error',
      count: 4,
      tasks: 3,
      taskIds: [ids.boomTwice, ids.boom2, ids.boom1],
      promptExcerpt: null,
      top: [{ key: 'fake', count: 4 }],
    });
    const rest = byKey(p);
    expect([...rest.keys()].sort()).toEqual(['agent_error', 'auth', 'missing_executable']);
    expect(rest.get('auth')).toMatchObject({ count: 1, tasks: 1, taskIds: [ids.auth], top: [{ key: 'authbot', count: 1 }] });
    expect(rest.get('missing_executable')).toMatchObject({ count: 1, tasks: 1, taskIds: [ids.missing], top: [{ key: 'fake', count: 1 }] });
    const boom = rest.get('agent_error')!;
    expect(Date.parse(boom.firstAt)).toBeLessThan(Date.parse(boom.lastAt));
    // No cancelled class, no cancelled or completed task anywhere.
    const every = p.items.flatMap((i) => i.taskIds);
    expect(every).not.toContain(ids.cancelled);
    expect(every).not.toContain(ids.completed);
  });

  it('groups by agent, with the classes each agent failed with', async () => {
    const p = await patterns(A.client(), { groupBy: 'agent' });
    expect(p.items.map((i) => [i.key, i.count, i.tasks])).toEqual([
      ['fake', 5, 4],
      ['authbot', 1, 1],
    ]);
    expect(p.items[0]!.top).toEqual([
      { key: 'agent_error', count: 4 },
      { key: 'missing_executable', count: 1 },
    ]);
    expect(p.items[0]!.taskIds).toEqual([ids.boomTwice, ids.missing, ids.boom2, ids.boom1]);
  });

  it('groups by model, runs without one under null', async () => {
    const p = await patterns(A.client(), { groupBy: 'model' });
    expect(p.items[0]).toMatchObject({ key: 'm-1', count: 4, tasks: 3 });
    const m = byKey(p);
    expect([...m.keys()]).toHaveLength(3);
    expect(m.get(null)).toMatchObject({ count: 1, taskIds: [ids.missing], top: [{ key: 'missing_executable', count: 1 }] });
    expect(m.get('m-2')).toMatchObject({ count: 1, taskIds: [ids.auth], top: [{ key: 'auth', count: 1 }] });
  });

  it('groups by prompt hash, with the start of the prompt to recognize it by', async () => {
    const p = await patterns(A.client(), { groupBy: 'prompt' });
    const boom = await A.client().tasks.get(ids.boom1);
    expect(p.items[0]).toMatchObject({ key: boom.promptHash, count: 4, tasks: 3, promptExcerpt: '--exit 3 boom on the build step', top: [{ key: 'agent_error', count: 4 }] });
    expect(p.items.map((i) => i.promptExcerpt).sort()).toEqual(['--exit 127', '--exit 3 boom on the build step', 'deploy the docs']);
  });

  it('narrows to one agent or one class, and limits the groups (totals still count them all)', async () => {
    const auth = await patterns(A.client(), { agent: 'authbot', groupBy: 'prompt' });
    expect(auth.items.map((i) => i.promptExcerpt)).toEqual(['deploy the docs']);
    expect(auth.totalFailures).toBe(1);
    const missing = await patterns(A.client(), { class: 'missing_executable', groupBy: 'agent' });
    expect(missing.items.map((i) => [i.key, i.count])).toEqual([['fake', 1]]);
    const one = await patterns(A.client(), { limit: 1 });
    expect(one.items.map((i) => i.key)).toEqual(['agent_error']);
    expect([one.totalFailures, one.totalGroups]).toEqual([6, 3]);
  });

  it('counts only failures inside the window: a duration or an ISO time', async () => {
    // The login failure happened three days ago, as far as the database knows.
    await s.db.query(`UPDATE task_runs SET ended_at = ended_at - interval '3 days' WHERE task_id = $1`, [ids.auth]);
    try {
      const day = byKey(await patterns(A.client(), { since: '24h' }));
      expect([...day.keys()].sort()).toEqual(['agent_error', 'missing_executable']);
      const week = byKey(await patterns(A.client(), { since: '7d' }));
      expect(week.get('auth')?.taskIds).toEqual([ids.auth]);
      const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
      const iso = await patterns(A.client(), { since: twoDaysAgo });
      expect(iso.since).toBe(twoDaysAgo);
      expect(byKey(iso).has('auth')).toBe(false);
      const fourDaysAgo = new Date(Date.now() - 4 * 86_400_000).toISOString().slice(0, 10);
      expect(byKey(await patterns(A.client(), { since: fourDaysAgo })).has('auth')).toBe(true);
      // A window that starts after every failure: nothing, and totals of zero.
      const future = await patterns(A.client(), { since: new Date(Date.now() + 3_600_000).toISOString() });
      expect(future).toMatchObject({ items: [], totalFailures: 0, totalGroups: 0 });
    } finally {
      await s.db.query(`UPDATE task_runs SET ended_at = ended_at + interval '3 days' WHERE task_id = $1`, [ids.auth]);
    }
  });

  it('never shows another workspace\'s failures, to its tokens or to an instance admin naming a workspace', async () => {
    const b = await patterns(B.client('viewer'), { groupBy: 'prompt' });
    expect(b.items).toHaveLength(1);
    expect(b.items[0]).toMatchObject({ count: 11, tasks: 11, promptExcerpt: '--exit 5 other workspace' });
    // At most ten task ids, all B's.
    expect(b.items[0]!.taskIds).toHaveLength(10);
    for (const id of b.items[0]!.taskIds) expect(bIds).toContain(id);
    for (const groupBy of ['class', 'agent', 'model', 'prompt'] as const) {
      const a = await patterns(A.client(), { groupBy });
      expect(a.totalFailures, groupBy).toBe(6);
      for (const item of a.items) for (const id of item.taskIds) expect(bIds, `${groupBy} ${item.key}`).not.toContain(id);
    }
    const admin = s.admin;
    const asAdmin = await call(s.url, 'GET', '/api/v1/failures/patterns?workspace=fp-b&groupBy=agent', { token: admin.token });
    expect(asAdmin.status).toBe(200);
    expect((asAdmin.json as FailurePatterns).items.map((i) => [i.key, i.count])).toEqual([['fake', 11]]);
    // The default workspace has no failures at all.
    expect((await patterns(admin)).totalFailures).toBe(0);
    const crossing = await call(s.url, 'GET', '/api/v1/failures/patterns?workspace=fp-b', { token: A.tokens.admin });
    expect(crossing.status).toBe(403);
    apiError(crossing);
  });

  it('is for people: a daemon token or no token is refused', async () => {
    expect((await call(s.url, 'GET', '/api/v1/failures/patterns', { token: A.tokens.daemon })).status).toBe(403);
    expect((await call(s.url, 'GET', '/api/v1/failures/patterns')).status).toBe(401);
  });

  it('answers 400 naming the field for a bad groupBy, since, limit, class or an unknown parameter', async () => {
    const cases: [string, string][] = [
      ['groupBy=daemon', 'groupBy'],
      ['since=yesterday', 'since'],
      ['since=7x', 'since'],
      ['since=2025-13-45T00:00:00Z', 'since'],
      ['since=-7d', 'since'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['class=cancelled-ish', 'class'],
      ['agent=%20', 'agent'],
      // An unknown parameter is refused too; the message names it.
      ['tail=1', 'querystring'],
    ];
    for (const [query, field] of cases) {
      const a = await call(s.url, 'GET', `/api/v1/failures/patterns?${query}`, { token: A.tokens.viewer });
      expect(a.status, query).toBe(400);
      const e = apiError(a);
      expect(e.code, query).toBe('validation_failed');
      expect(detailPaths(e), query).toEqual([field]);
      expect(e.message, query).toContain(field);
      if (field === 'querystring') expect(e.message).toMatch(/tail/);
      expectNothingInternal(a);
    }
  });

  it('finds the window\'s failed runs through the partial index of failed runs', async () => {
    // These tables are tiny, so the planner would rightly scan them; with scans
    // priced out, a plan that still cannot use task_runs_failed means the query
    // and the index's predicate have drifted apart.
    const plan = await s.db.withConnection(async (c) => {
      await c.query('SET enable_seqscan = off');
      try {
        const { rows } = await c.query(`EXPLAIN ${sql('failure_patterns')}`, ['fp-a', new Date(Date.now() - 86_400_000).toISOString(), 'class', null, null, 20]);
        return rows.map((r) => String(r['QUERY PLAN'])).join('\n');
      } finally {
        await c.query('RESET enable_seqscan');
      }
    });
    expect(plan).toMatch(/task_runs_failed/);
    expect(plan).not.toMatch(/Seq Scan on task_runs/);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await call(s.url, 'GET', '/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/api/v1/failures/patterns'] ?? {})).toEqual(['get']);
  });
});

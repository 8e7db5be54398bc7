/**
 * Task listings: newest first, keyset-paginated on (created_at, id), so every
 * task appears exactly once across pages — even tasks created in the same
 * instant, and even while new tasks arrive between pages.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/core/api.js';
import { ValidationError } from '../../src/core/errors.js';
import { insertTask, listTasks, transition, type TaskFilter } from '../../src/store/tasks.js';
import { createWorkspace } from '../../src/store/workspaces.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { track, untrack } from '../helpers/leaks.js';

let db: TestDb;
/** Ids of workspace `paged`, newest first, as the database orders them. */
let expected: string[];
const group = randomUUID();

beforeAll(async () => {
  db = await createTestDb();
  track(db, 'test database');
  await createWorkspace(db, { id: 'paged' });
  await createWorkspace(db, { id: 'other' });
  // 12 tasks created in one transaction share one created_at: only the id tells them apart.
  await db.tx(async (q) => {
    for (let i = 0; i < 12; i++) await insertTask(q, { workspaceId: 'paged', assignedAgent: i % 3 === 0 ? 'codex' : 'claude-code', prompt: `batch ${i}`, groupId: i < 4 ? group : null });
  });
  for (let i = 0; i < 11; i++) await insertTask(db, { workspaceId: 'paged', assignedAgent: 'claude-code', prompt: `single ${i}` });
  for (let i = 0; i < 5; i++) await insertTask(db, { workspaceId: 'other', assignedAgent: 'claude-code', prompt: `other ${i}` });
  // A few cancelled and failed ones, for the status filter.
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM tasks WHERE workspace_id = 'paged' AND prompt LIKE 'single %' ORDER BY prompt LIMIT 3`);
  for (const r of rows) await transition(db, { taskId: r.id, from: ['queued'], to: 'cancelled', actor: 'user' });
  expected = (await db.query<{ id: string }>(`SELECT id FROM tasks WHERE workspace_id = 'paged' ORDER BY created_at DESC, id DESC`)).rows.map((r) => r.id);
});
afterAll(async () => {
  await db?.close();
  untrack(db);
});

/** Follows nextCursor to the end; answers the pages. */
async function allPages(filter: Omit<TaskFilter, 'cursor'>): Promise<Task[][]> {
  const pages: Task[][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listTasks(db, { ...filter, ...(cursor ? { cursor } : {}) });
    pages.push(page.items);
    if (!page.nextCursor) return pages;
    expect(pages.length, 'pagination must end').toBeLessThan(100);
    cursor = page.nextCursor;
  }
}

function cursorOf(v: unknown): string {
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
}

describe('listTasks', () => {
  it('returns every task of the workspace exactly once across pages, newest first', async () => {
    expect(expected).toHaveLength(23);
    for (const limit of [1, 4, 5, 22, 23, 50]) {
      const pages = await allPages({ workspaceId: 'paged', limit });
      expect(pages.flat().map((t) => t.id), `limit ${limit}`).toEqual(expected);
      expect(pages.slice(0, -1).every((p) => p.length === limit), `full pages before the last, limit ${limit}`).toBe(true);
    }
  });

  it('ends without an empty page when the last page is exactly full', async () => {
    const pages = await allPages({ workspaceId: 'paged', limit: 23 });
    expect(pages.map((p) => p.length)).toEqual([23]);
  });

  it('neither repeats nor skips tasks when new ones arrive between pages', async () => {
    await createWorkspace(db, { id: 'busy' });
    // Nine tasks a minute old or more (explicit ages: two inserts may share a millisecond), newest first.
    const before: string[] = [];
    for (let i = 0; i < 9; i++) {
      const t = await insertTask(db, { workspaceId: 'busy', assignedAgent: 'codex', prompt: `old ${i}` });
      await db.query(`UPDATE tasks SET created_at = now() - make_interval(secs => $2) WHERE id = $1`, [t.id, 60 + 9 - i]);
      before.unshift(t.id);
    }
    const first = await listTasks(db, { workspaceId: 'busy', limit: 4 });
    for (let i = 0; i < 3; i++) await insertTask(db, { workspaceId: 'busy', assignedAgent: 'codex', prompt: `new ${i}` });
    const seen = [...first.items.map((t) => t.id)];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await listTasks(db, { workspaceId: 'busy', limit: 4, cursor });
      seen.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(before);
  });

  it('filters by status, agent and group, and pages through the filtered set', async () => {
    const byStatus = (await allPages({ workspaceId: 'paged', statuses: ['cancelled'], limit: 2 })).flat();
    expect(byStatus).toHaveLength(3);
    expect(byStatus.every((t) => t.status === 'cancelled')).toBe(true);

    const byAgent = (await allPages({ workspaceId: 'paged', agent: 'codex', limit: 3 })).flat();
    expect(byAgent.map((t) => t.prompt).sort()).toEqual(['batch 0', 'batch 3', 'batch 6', 'batch 9']);

    const byGroup = (await allPages({ workspaceId: 'paged', groupId: group, limit: 3 })).flat();
    expect(byGroup.map((t) => t.prompt).sort()).toEqual(['batch 0', 'batch 1', 'batch 2', 'batch 3']);

    const several = (await allPages({ workspaceId: 'paged', statuses: ['queued', 'cancelled'], limit: 7 })).flat();
    expect(several.map((t) => t.id)).toEqual(expected);
  });

  it('never shows another workspace’s tasks, and shows all with no workspace (instance admin)', async () => {
    const paged = (await allPages({ workspaceId: 'paged', limit: 10 })).flat();
    expect(paged.every((t) => t.workspaceId === 'paged')).toBe(true);
    const everything = (await allPages({ workspaceId: null, limit: 10 })).flat();
    expect(everything.filter((t) => t.workspaceId === 'other')).toHaveLength(5);
    expect(new Set(everything.map((t) => t.id)).size).toBe(everything.length);
  });

  it.each([
    ['not base64 JSON at all', 'not-a-cursor!'],
    ['JSON of the wrong shape', cursorOf({ createdAt: '2030-01-01', id: 'x' })],
    ['a date that is not a date', cursorOf(['yesterday', randomUUID()])],
    ['an id that is not a UUID', cursorOf(['2030-01-01T00:00:00Z', 'abc'])],
  ])('refuses %s as a cursor with a ValidationError on "cursor"', async (_what, cursor) => {
    const err = await listTasks(db, { workspaceId: 'paged', limit: 5, cursor }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details).toEqual([{ path: 'cursor', message: expect.any(String) }]);
  });

  // Tampered cursors of the same shape as real ones, wrong in one part that only
  // PostgreSQL notices: they must still be a ValidationError (a 400), not a database error (a 500).
  it.each([
    ['a day that does not exist (February 31)', (real: [string, string]) => ['2030-02-31 00:00:00.123456+00', real[1]]],
    ['36 dashes as the id', (real: [string, string]) => [real[0], '-'.repeat(36)]],
  ])('refuses a cursor with %s with a ValidationError, not a database error', async (_what, tamper) => {
    const page = await listTasks(db, { workspaceId: 'paged', limit: 1 });
    const real = JSON.parse(Buffer.from(page.nextCursor!, 'base64url').toString('utf8')) as [string, string];
    const err = await listTasks(db, { workspaceId: 'paged', limit: 5, cursor: cursorOf(tamper(real)) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    // And the database keeps answering.
    expect((await listTasks(db, { workspaceId: 'paged', limit: 1 })).items).toHaveLength(1);
  });
});

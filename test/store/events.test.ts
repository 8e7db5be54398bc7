/**
 * A task's transcript: batches of sequenced events stored idempotently, so
 * a daemon resending after a reconnect never duplicates a line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertEventBatches, insertEvents, listEvents, type EventInput } from '../../src/store/events.js';
import { ensureEventPartitions } from '../../src/store/partitions.js';
import { insertTask } from '../../src/store/tasks.js';
import { createWorkspace } from '../../src/store/workspaces.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { track, untrack } from '../helpers/leaks.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
  track(db, 'test database');
  await ensureEventPartitions(db);
  await createWorkspace(db, { id: 'events' });
});
afterAll(async () => {
  await db?.close();
  untrack(db);
});

const T0 = Date.now();
/** Event `seq` as the daemon stamps it: its own time, fixed once, repeated on every resend. */
const ev = (seq: number, extra: Partial<EventInput> = {}): EventInput => ({
  seq,
  at: new Date(T0 + seq).toISOString(),
  stream: 'stdout',
  kind: 'text',
  text: `line ${seq}`,
  raw: `{"type":"text","text":"line ${seq}"}`,
  ...extra,
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function newTask(): Promise<string> {
  return (await insertTask(db, { workspaceId: 'events', assignedAgent: 'codex', prompt: 'p' })).id;
}

async function storedSeqs(taskId: string): Promise<number[]> {
  return (await db.query<{ seq: number }>(`SELECT seq FROM task_events WHERE task_id = $1 ORDER BY seq, at`, [taskId])).rows.map((r) => r.seq);
}

describe('insertEvents', () => {
  it('stores a batch and answers how many rows were new', async () => {
    const task = await newTask();
    expect(await insertEvents(db, task, 1, range(1, 5).map((s) => ev(s)))).toBe(5);
    expect(await storedSeqs(task)).toEqual(range(1, 5));
  });

  it('ignores a resent batch entirely, and stores only the new part of an overlapping one', async () => {
    const task = await newTask();
    const batch = range(1, 4).map((s) => ev(s));
    expect(await insertEvents(db, task, 1, batch)).toBe(4);
    expect(await insertEvents(db, task, 1, batch)).toBe(0);
    expect(await insertEvents(db, task, 1, range(3, 7).map((s) => ev(s)))).toBe(3);
    expect(await storedSeqs(task)).toEqual(range(1, 7));
  });

  it('keeps the first copy of a resent event, not the resend', async () => {
    const task = await newTask();
    await insertEvents(db, task, 1, [ev(1, { text: 'original' })]);
    await insertEvents(db, task, 1, [ev(1, { text: 'resent' })]);
    const { items } = await listEvents(db, task, 0, 10);
    expect(items.map((e) => e.text)).toEqual(['original']);
  });

  it('keeps every field: stream, kind, text, structured data, raw line and attempt', async () => {
    const task = await newTask();
    await insertEvents(db, task, 2, [
      ev(1, { stream: 'stderr', kind: 'stderr', text: 'warning: x', raw: 'warning: x' }),
      ev(2, { kind: 'tool_call', text: undefined, data: { tool: 'Bash', input: { command: 'ls' } }, raw: '{"tool":"Bash"}' }),
    ]);
    const { items } = await listEvents(db, task, 0, 10);
    expect(items).toEqual([
      { seq: 1, at: ev(1).at, attempt: 2, stream: 'stderr', kind: 'stderr', text: 'warning: x', raw: 'warning: x' },
      { seq: 2, at: ev(2).at, attempt: 2, stream: 'stdout', kind: 'tool_call', data: { tool: 'Bash', input: { command: 'ls' } }, raw: '{"tool":"Bash"}' },
    ]);
  });

  it('does nothing for an empty batch', async () => {
    expect(await insertEvents(db, await newTask(), 1, [])).toBe(0);
  });

  it('keeps each task’s transcript apart', async () => {
    const a = await newTask();
    const b = await newTask();
    await insertEvents(db, a, 1, range(1, 3).map((s) => ev(s)));
    await insertEvents(db, b, 1, range(1, 2).map((s) => ev(s)));
    expect(await storedSeqs(a)).toEqual([1, 2, 3]);
    expect(await storedSeqs(b)).toEqual([1, 2]);
  });
});

describe('listEvents', () => {
  it('pages through a transcript after a seq, in order, with `next` until the end', async () => {
    const task = await newTask();
    // Stored out of order, as batches from a reconnect may arrive.
    await insertEvents(db, task, 1, range(11, 25).map((s) => ev(s)));
    await insertEvents(db, task, 1, range(1, 10).map((s) => ev(s)));
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = await listEvents(db, task, after, 7);
      seen.push(...page.items.map((e) => e.seq));
      if (page.next === null) break;
      after = page.next;
    }
    expect(seen).toEqual(range(1, 25));
    expect(await listEvents(db, task, 25, 7)).toEqual({ items: [], next: null });
    expect((await listEvents(db, task, 20, 5)).next).toBeNull();
  });
});

describe('output PostgreSQL cannot hold', () => {
  it('stores a NUL as U+FFFD in text, raw and data, and the other runs of the batch with it', async () => {
    const [a, b] = [await newTask(), await newTask()];
    const nul = 'before\u0000after';
    await insertEventBatches(db, [
      { taskId: a, attempt: 1, events: [ev(1, { text: nul, raw: nul, data: { out: nul, [`k\u0000`]: 1, literal: 'a\\u0000b', nested: [{ s: '\u0000' }] } })] },
      { taskId: b, attempt: 1, events: [ev(1)] },
    ]);
    const got = (await listEvents(db, a, 0, 10)).items[0]!;
    expect(got.text).toBe('before\uFFFDafter');
    expect(got.raw).toBe('before\uFFFDafter');
    // A backslash followed by "u0000" in the agent's own text is not a NUL and stays as printed.
    expect(got.data).toEqual({ out: 'before\uFFFDafter', 'k\uFFFD': 1, literal: 'a\\u0000b', nested: [{ s: '\uFFFD' }] });
    expect((await listEvents(db, b, 0, 10)).items).toHaveLength(1);
  });
});

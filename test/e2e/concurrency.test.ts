import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRun } from '../../src/core/api.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

/** The largest number of runs alive at the same instant (an end at t frees its slot before a start at t). */
function maxOverlap(runs: TaskRun[]): number {
  const points = runs.flatMap((r) => [
    { t: Date.parse(r.startedAt), d: 1 },
    { t: Date.parse(r.endedAt!), d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const p of points) {
    now += p.d;
    max = Math.max(max, now);
  }
  return max;
}

describe('workspace concurrency cap across daemons', () => {
  let s: TestServer;
  const daemons: TestDaemon[] = [];
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    for (const d of daemons) await d.stop();
    await s?.close();
  });

  // 200 agent processes take ~18 s alone; a CI machine running other suites beside it needs longer.
  it('runs 200 tasks with maxConcurrentTasks 3 on 2 daemons: never more than 3 at once, all complete, higher priority first', async () => {
    const ws = await s.workspace('capped', { maxConcurrentTasks: 3 });
    const client = ws.client();
    const ids: { id: string; priority: number }[] = [];
    for (let i = 0; i < 200; i++) {
      const priority = i % 4 === 0 ? 10 : i % 4 === 1 ? 5 : 0;
      const t = await client.tasks.create({ assignedAgent: 'fake', prompt: `job ${i} --lines 2`, priority });
      ids.push({ id: t.id, priority });
    }
    // Daemons arrive after the queue is full, so every claim chooses among all 200.
    daemons.push(await startTestDaemon(s.url, ws.tokens.daemon, { name: 'a' }));
    daemons.push(await startTestDaemon(s.url, ws.tokens.daemon, { name: 'b' }));

    await until(
      async () => (await client.tasks.list({ status: 'completed', limit: 500 })).items.length === 200,
      'all 200 tasks to complete',
      120_000,
      200,
    );
    const runs: (TaskRun & { priority: number })[] = [];
    for (const { id, priority } of ids) {
      const r = (await client.tasks.runs(id)).items;
      expect(r).toHaveLength(1);
      runs.push({ ...r[0]!, priority });
    }
    expect(maxOverlap(runs)).toBeLessThanOrEqual(3);
    expect(maxOverlap(runs)).toBeGreaterThan(1); // the cap was actually exercised
    expect(new Set(runs.map((r) => r.daemonId)).size).toBe(2); // both daemons took work

    // Claim order = start order: priority 10 tasks, then 5, then 0.
    const byStart = [...runs].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    const firstLow = byStart.findIndex((r) => r.priority === 0);
    const lastHigh = byStart.map((r) => r.priority).lastIndexOf(10);
    expect(lastHigh).toBeLessThan(firstLow);
    const claimedOrder = await Promise.all(ids.map(async ({ id, priority }) => ({ priority, at: (await client.tasks.get(id)).timeline!.find((t) => t.to === 'claimed')!.at })));
    claimedOrder.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    const priorities = claimedOrder.map((c) => c.priority);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
  }, 120_000);
});

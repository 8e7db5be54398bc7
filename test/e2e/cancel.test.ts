import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

/** Pids of live processes in a process group (ps, not our own bookkeeping). */
function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-A', '-o', 'pid=,pgid=,stat=']).toString();
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, g, stat]) => Number(g) === pgid && !stat?.startsWith('Z'))
    .map(([p]) => Number(p));
}

describe('cancelling a running task', () => {
  let s: TestServer;
  let d: TestDaemon;
  const KILL_GRACE_MS = 1000;
  beforeAll(async () => {
    s = await startTestServer({ config: { runtime: { kill_grace: `${KILL_GRACE_MS}ms` } } });
    d = await startTestDaemon(s.url, s.daemonToken, { config: { runtime: { kill_grace: `${KILL_GRACE_MS}ms` } } });
  });
  afterAll(async () => {
    await d?.stop();
    await s?.close();
  });

  it('stops an agent that ignores SIGTERM and its sleeping grandchild, then reports cancelled', async () => {
    const ws = await s.workspace('cancel');
    const client = ws.client();
    const task = await client.tasks.create({ assignedAgent: 'fake', prompt: 'run --ignore-term --grandchild --hang' });
    const running = await until(async () => {
      const runs = await client.tasks.runs(task.id);
      const events = await client.tasks.events(task.id);
      return runs.items[0]?.pid && events.items.some((e) => e.text?.startsWith('grandchild')) ? runs.items[0] : undefined;
    }, 'the agent and its grandchild to start');
    const pgid = running.pid!;
    expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(2);

    const asked = Date.now();
    const answer = await client.tasks.cancel(task.id, 'test says stop');
    expect(answer.status).toBe('executing');
    expect(answer.cancelRequested).toBe(true);

    const done = await until(async () => {
      const t = await client.tasks.get(task.id);
      return t.status === 'cancelled' ? t : undefined;
    }, 'the task to be cancelled');
    const took = Date.now() - asked;
    // The group was gone before the run reported cancelled.
    expect(groupMembers(pgid)).toEqual([]);
    expect(took).toBeLessThan(KILL_GRACE_MS + 1000 + 500); // grace + 1 s, plus the poll interval
    expect(done.timeline?.at(-1)).toMatchObject({ from: 'executing', to: 'cancelled', actor: 'daemon' });
    const runs = await client.tasks.runs(task.id);
    expect(runs.items[0]).toMatchObject({ status: 'cancelled', failureClass: 'cancelled' });
  });

  it('cancels a queued task at once, with no runtime involved', async () => {
    const ws = await s.workspace('cancel-queued');
    const client = ws.client();
    const task = await client.tasks.create({ assignedAgent: 'nobody-has-this', prompt: 'never runs' });
    const t = await client.tasks.cancel(task.id);
    expect(t.status).toBe('cancelled');
    expect(t.actions).toEqual([]);
  });
});

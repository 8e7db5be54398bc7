import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../src/core/api.js';
import { spawnDaemon, startTestDaemon } from '../helpers/daemon.js';
import { connectRawDaemon } from '../helpers/rawDaemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { signalGroup } from '../../src/daemon/processGroup.js';

/** The daemon's orphan guard: its child running the guard script. */
function guardOf(daemonPid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === daemonPid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('switchyard-orphan-guard')) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

function expectContiguous(events: TaskEvent[]): void {
  expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
}

async function allEvents(s: TestServer, taskId: string): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await s.admin.tasks.events(taskId, after, 5000);
    out.push(...page.items);
    if (page.next === null) return out;
    after = page.next;
  }
}

describe('recovery', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ config: { runtime: { lease: '2s', retry_backoff_base: '100ms', retry_backoff_cap: '200ms' } } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('re-queues the run of a SIGKILLed daemon after its lease, and another daemon completes it as attempt 2', async () => {
    const first = await spawnDaemon(s.url, s.daemonToken, { name: 'doomed' });
    const task = await s.admin.tasks.create({ assignedAgent: 'fake', prompt: 'work --lines 30 --rate 10' });
    const run1 = await until(async () => {
      const events = await s.admin.tasks.events(task.id);
      const runs = await s.admin.tasks.runs(task.id);
      return events.items.length >= 3 ? runs.items[0] : undefined;
    }, 'the first run to stream');
    await first.kill('SIGKILL');
    // A printing agent dies of the closed pipe; a quiet one is its guard's (next test).
    await until(() => !signalGroup(run1.pid!, 0), 'the dead daemon\'s agent to stop');

    const second = await startTestDaemon(s.url, s.daemonToken, { name: 'rescuer' });
    try {
      const done = await until(async () => {
        const t = await s.admin.tasks.get(task.id);
        return t.status === 'completed' ? t : undefined;
      }, 'the task to be completed by the second daemon', 30_000);
      expect(done.attempt).toBe(2);
      const runs = (await s.admin.tasks.runs(task.id)).items;
      expect(runs.map((r) => [r.attempt, r.status, r.failureClass])).toEqual([
        [1, 'failed', 'runtime_lost'],
        [2, 'completed', null],
      ]);
      expect(runs[0]!.daemonId).toBe(first.id());
      expect(runs[1]!.daemonId).toBe(second.id);
      expect(done.timeline?.map((t) => t.to)).toEqual(['queued', 'claimed', 'executing', 'queued', 'claimed', 'executing', 'completed']);
      const events = await allEvents(s, task.id);
      expectContiguous(events);
      // Attempt 2 printed every line again, after whatever attempt 1 got stored.
      expect(events.filter((e) => e.attempt === 2).map((e) => e.text)).toEqual(Array.from({ length: 30 }, (_, i) => `line ${i + 1}`));
    } finally {
      await second.stop();
    }
  });

  it('loses no line and stores none twice when the server restarts mid-stream', async () => {
    const d = await startTestDaemon(s.url, s.daemonToken);
    try {
      const task = await s.admin.tasks.create({ assignedAgent: 'fake', prompt: 'stream --lines 400 --rate 200' });
      await until(async () => (await s.admin.tasks.events(task.id)).items.length >= 40, 'some lines to be stored');
      await s.restart();
      const done = await until(async () => {
        const t = await s.admin.tasks.get(task.id);
        return t.status === 'completed' ? t : undefined;
      }, 'the task to complete after the restart', 30_000);
      expect(done.attempt).toBe(1);
      const events = await allEvents(s, task.id);
      expectContiguous(events);
      expect(events.map((e) => e.text)).toEqual(Array.from({ length: 400 }, (_, i) => `line ${i + 1}`));
    } finally {
      await d.stop();
    }
  });

  it('keeps a run that had not printed anything when the server restarted (its resent `started` is a duplicate)', async () => {
    const d = await startTestDaemon(s.url, s.daemonToken);
    try {
      const task = await s.admin.tasks.create({ assignedAgent: 'fake', prompt: 'quiet --sleep 2500 --lines 1' });
      await until(async () => (await s.admin.tasks.get(task.id)).status === 'executing', 'the run to start');
      await s.restart();
      const done = await until(async () => {
        const t = await s.admin.tasks.get(task.id);
        return t.status === 'completed' || t.status === 'cancelled' || t.status === 'failed' ? t : undefined;
      }, 'the run to end', 20_000);
      expect(done.status).toBe('completed');
      expect(done.attempt).toBe(1);
    } finally {
      await d.stop();
    }
  });

  it('reconciles on hello: a run the restarted daemon no longer has is lost and re-queued', async () => {
    const raw = await connectRawDaemon(s.url, s.daemonToken, { agents: ['raw-agent'] });
    raw.hello();
    const task = await s.admin.tasks.create({ assignedAgent: 'raw-agent', prompt: 'do it', maxAttempts: 3 });
    const assign = await raw.waitFrame((f) => f.type === 'assign' && f.taskId === task.id, 'an assign');
    raw.send({ type: 'accept', taskId: task.id, attempt: assign.attempt });
    raw.send({ type: 'started', taskId: task.id, attempt: assign.attempt, pid: 4242, agentVersion: '1', model: null, startedAt: new Date().toISOString() });
    await until(async () => (await s.admin.tasks.get(task.id)).status === 'executing', 'executing');
    await raw.close();

    // The same daemon id comes back, knowing nothing of the run.
    const again = await connectRawDaemon(s.url, s.daemonToken, { id: raw.id, agents: ['raw-agent'] });
    again.hello({ running: [], pending: [] });
    const reassigned = await again.waitFrame((f) => f.type === 'assign' && f.taskId === task.id, 'the task to be assigned again');
    expect(reassigned.attempt).toBe(2);
    const runs = (await s.admin.tasks.runs(task.id)).items;
    expect(runs[0]).toMatchObject({ attempt: 1, status: 'failed', failureClass: 'runtime_lost' });
    await again.close();
    await s.admin.tasks.cancel(task.id);
  });

  it('reconciles on hello: a run the server no longer gives the daemon is cancelled on the daemon', async () => {
    const raw = await connectRawDaemon(s.url, s.daemonToken, { agents: ['raw-agent'] });
    const stranger = '00000000-0000-4000-8000-000000000001';
    raw.hello({ running: [{ taskId: stranger, attempt: 1 }] });
    const cancel = await raw.waitFrame((f) => f.type === 'cancel', 'a cancel for the unknown run');
    expect(cancel).toMatchObject({ taskId: stranger, attempt: 1 });
    await raw.close();
  });

  it('stops the quiet agent of a SIGKILLed daemon at once (its orphan guard), long before the lease gives the task to another runtime', async () => {
    const doomed = await spawnDaemon(s.url, s.daemonToken, { name: 'guarded' });
    // Prints two lines, then is silent: no write to the dead daemon's pipe will kill it.
    const task = await s.admin.tasks.create({ assignedAgent: 'fake', prompt: 'wait --lines 2 --hang', maxAttempts: 1 });
    const run = await until(async () => {
      const runs = (await s.admin.tasks.runs(task.id)).items;
      return (await s.admin.tasks.events(task.id)).items.length >= 2 ? runs[0] : undefined;
    }, 'the run to start');
    try {
      expect(guardOf(doomed.proc.pid!)).toBeDefined();
    } finally {
      await doomed.kill('SIGKILL');
    }
    await until(() => !signalGroup(run.pid!, 0), "the dead daemon's guard to stop its agent", 5_000);
  });

  it('a restarted daemon process reports its dead run as lost and stops the agents it left behind', async () => {
    const first = await spawnDaemon(s.url, s.daemonToken, { name: 'restarting' });
    const task = await s.admin.tasks.create({ assignedAgent: 'fake', prompt: 'wait --lines 2 --hang', maxAttempts: 1 });
    const run = await until(async () => {
      const runs = (await s.admin.tasks.runs(task.id)).items;
      return (await s.admin.tasks.events(task.id)).items.length >= 2 ? runs[0] : undefined;
    }, 'the run to start');
    // Killed together with its guard (say, the whole machine's processes but not the agent's group):
    // the restarted daemon must stop the agent from its ledger.
    const guard = guardOf(first.proc.pid!);
    expect(guard, 'the daemon has an orphan guard').toBeDefined();
    process.kill(guard!, 'SIGKILL');
    await first.kill('SIGKILL');
    expect(signalGroup(run.pid!, 0)).toBe(true); // the agent outlived its daemon
    const second = await spawnDaemon(s.url, s.daemonToken, { stateDir: first.stateDir, name: 'restarted' });
    try {
      expect(second.id()).toBe(first.id());
      const t = await until(async () => {
        const x = await s.admin.tasks.get(task.id);
        return x.status === 'failed' ? x : undefined;
      }, 'the lost run to be reported');
      expect(t.statusReason).toContain('runtime_lost');
      await until(() => !signalGroup(run.pid!, 0), 'the leftover agent group to be stopped');
    } finally {
      await second.kill('SIGTERM');
    }
  });

  it('an idle daemon process exits on SIGTERM without sitting out its kill grace', async () => {
    // The grace (kill_grace + 3 s) is how long a stop waits for runs to end; with none
    // running, its timer once kept the process alive for the whole of it anyway.
    const idle = await spawnDaemon(s.url, s.daemonToken, { name: 'idle', config: { runtime: { kill_grace: '60s' } } });
    const started = Date.now();
    await idle.kill('SIGTERM');
    expect(idle.proc.exitCode, idle.output().slice(-500)).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 90_000);
});

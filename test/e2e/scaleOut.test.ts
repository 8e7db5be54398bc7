/**
 * Several server processes on one PostgreSQL (DESIGN.md §7, issue 7): each
 * serves its own runtimes and dashboards, and they reach each other only
 * through LISTEN/NOTIFY and the database. Two servers here share one
 * database; the runtime is connected to B, the user and the dashboard to A.
 * PostgreSQL only (vitest.config.ts keeps this file out of the PGlite
 * project: an embedded database belongs to one process).
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { BusHandler } from '../../src/server/bus.js';
import { createTestDb, itOnPostgres, type TestDb } from '../helpers/db.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connectStream } from '../helpers/stream.js';
import { until } from '../helpers/wait.js';

describe('two servers on one PostgreSQL', () => {
  let db: TestDb;
  let a: TestServer;
  let b: TestServer;
  let d: TestDaemon;
  beforeAll(async () => {
    db = await createTestDb();
    a = await startTestServer({ db, serverId: 'server-a' });
    b = await startTestServer({ db, serverId: 'server-b' });
    d = await startTestDaemon(b.url, b.daemonToken, { name: 'on-b' });
  });
  afterAll(async () => {
    await d?.stop();
    await a?.close();
    await b?.close();
    await db?.close();
  });

  const statusOf = async (id: string) => (await a.admin.tasks.get(id)).status;

  itOnPostgres('shows a dashboard on server A the live lines of a task run by a daemon on server B, in order and each once', async () => {
    await until(() => b.server.daemons.connected() === 1, 'the daemon to say hello to B');
    expect(a.server.daemons.connected()).toBe(0);
    const ws = await a.workspace('scale-stream');
    const dash = await connectStream(a.url, ws.tokens.viewer);
    dash.subscribeWorkspace(ws.id);
    await dash.waitFor(() => dash.frames.some((f) => f.type === 'subscribed' && f.workspaceId === ws.id), 'the workspace subscription');
    const task = await ws.client().tasks.create({ assignedAgent: 'fake', prompt: 'work --lines 300 --rate 200 --stderr 2' });
    dash.subscribeTask(task.id);

    const completedFrame = () => dash.frames.findIndex((f) => f.type === 'task' && (f.task as { id: string; status: string }).id === task.id && (f.task as { status: string }).status === 'completed');
    await dash.waitFor(() => completedFrame() >= 0, 'server A to tell its dashboard the task completed', 20_000);
    await dash.waitFor(() => dash.events.length >= 302, 'every line on server A');

    // Live: the lines came in many frames while the task ran, not as one read at the end.
    const framesBefore = dash.frames.slice(0, completedFrame()).filter((f) => f.type === 'events' && f.taskId === task.id);
    expect(framesBefore.length).toBeGreaterThanOrEqual(3);
    expect(framesBefore.reduce((n, f) => n + (f.items as unknown[]).length, 0)).toBeGreaterThanOrEqual(100);
    // In order, each once, nothing missing.
    expect(dash.events.map((e) => e.seq)).toEqual(Array.from({ length: 302 }, (_, i) => i + 1));
    expect(dash.events.filter((e) => e.stream === 'stdout').map((e) => e.text)).toEqual(Array.from({ length: 300 }, (_, i) => `line ${i + 1}`));
    // Task changes crossed too: A's workspace subscriber saw the run's states.
    const seen = dash.tasks.filter((t) => t.id === task.id).map((t) => t.status);
    expect(seen).toContain('executing');
    expect(seen).toContain('completed');

    const [run] = (await a.admin.tasks.runs(task.id)).items;
    expect(run).toMatchObject({ daemonId: d.id, status: 'completed' });
    const row = await db.query<{ server_id: string }>('SELECT server_id FROM daemons WHERE id = $1', [d.id]);
    expect(row.rows[0]?.server_id).toBe('server-b');
    await dash.close();
  });

  itOnPostgres('cancels from server A a task running on a daemon connected to server B', async () => {
    const task = await a.admin.tasks.create({ assignedAgent: 'fake', prompt: 'wait --hang --lines 1' });
    await until(async () => (await statusOf(task.id)) === 'executing', 'the task to run on B');
    await a.admin.tasks.cancel(task.id, 'stopped from server A');
    await until(async () => (await statusOf(task.id)) === 'cancelled', 'B\u2019s daemon to stop it', 15_000);
    const [run] = (await a.admin.tasks.runs(task.id)).items;
    expect(run).toMatchObject({ daemonId: d.id, status: 'cancelled' });
    expect(run!.signal ?? run!.exitCode).not.toBeNull();
  });

  itOnPostgres('has a task created on server A dispatched by server B, woken by the dispatch signal from A', async () => {
    const remote: Record<string, unknown>[] = [];
    const onDispatch: BusHandler = (p, origin) => {
      if (origin === 'remote') remote.push(p);
    };
    const off = b.server.bus.subscribe('dispatch', onDispatch);
    try {
      const ws = await a.workspace('scale-dispatch');
      const task = await ws.client().tasks.create({ assignedAgent: 'fake', prompt: 'quick --lines 1' });
      await until(async () => (await statusOf(task.id)) === 'completed', 'the task to run on B');
      expect(remote).toContainEqual({ workspaceId: ws.id });
      const [run] = (await a.admin.tasks.runs(task.id)).items;
      expect(run!.daemonId).toBe(d.id);
    } finally {
      off();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connectStream } from '../helpers/stream.js';
import { until } from '../helpers/wait.js';

describe('a task end to end', () => {
  let s: TestServer;
  let d: TestDaemon;
  beforeAll(async () => {
    s = await startTestServer();
    d = await startTestDaemon(s.url, s.daemonToken);
  });
  afterAll(async () => {
    await d?.stop();
    await s?.close();
  });

  it('runs on a daemon, streams every line in order to a dashboard client, and completes', async () => {
    const ws = await s.workspace('e2e-stream');
    const client = ws.client();
    const task = await client.tasks.create({ assignedAgent: 'fake', prompt: 'work --lines 200 --rate 400 --stderr 3' });
    const dash = await connectStream(s.url, ws.tokens.viewer);
    dash.subscribeTask(task.id);
    await dash.waitFor(() => dash.tasks.some((t) => t.status === 'completed'), 'the task to complete');
    await dash.waitFor(() => dash.events.length >= 203, 'all lines');

    const stdout = dash.events.filter((e) => e.stream === 'stdout').map((e) => e.text);
    expect(stdout).toEqual(Array.from({ length: 200 }, (_, i) => `line ${i + 1}`));
    expect(dash.events.map((e) => e.seq)).toEqual(Array.from({ length: dash.events.length }, (_, i) => i + 1));

    const stored = await client.tasks.events(task.id, 0, 5000);
    expect(stored.items.map((e) => e.seq)).toEqual(Array.from({ length: 203 }, (_, i) => i + 1));
    expect(stored.items.filter((e) => e.stream === 'stderr').map((e) => e.text)).toEqual(['err 1', 'err 2', 'err 3']);

    const done = await client.tasks.get(task.id);
    expect(done.status).toBe('completed');
    expect(done.timeline?.map((t) => t.to)).toEqual(['queued', 'claimed', 'executing', 'completed']);
    const runs = await client.tasks.runs(task.id);
    expect(runs.items).toHaveLength(1);
    expect(runs.items[0]).toMatchObject({ status: 'completed', exitCode: 0, daemonId: d.id });
    await dash.close();
  });

  it('resumes a subscription after a seq without repeating lines', async () => {
    const ws = await s.workspace('e2e-resume');
    const client = ws.client();
    const task = await client.tasks.create({ assignedAgent: 'fake', prompt: 'go --lines 50' });
    await until(async () => (await client.tasks.get(task.id)).status === 'completed', 'completion');
    const dash = await connectStream(s.url, ws.tokens.viewer);
    dash.subscribeTask(task.id, 30);
    await dash.waitFor(() => dash.events.length >= 20, 'the rest of the transcript');
    expect(dash.events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 31));
    await dash.close();
  });
});

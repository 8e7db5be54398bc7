/**
 * Webhook events from real runs through a daemon with the fake agents:
 * completed, failed (the final failure by default; every failed attempt
 * with includeRetries), blocked; runtime events (throttled, offline) only to
 * the workspaces the runtime serves; and, on PostgreSQL, two servers over
 * one database queueing and delivering each event once.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardClient, type WebhookEvent } from '../../src/client/index.js';
import { fakeAgent } from '../helpers/config.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { itOnPostgres } from '../helpers/db.js';
import { startReceiver, signatureValid, type Receiver } from '../helpers/receiver.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';

const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/fake-claude.mjs', import.meta.url));
const agents = [fakeAgent(), { name: 'claude-code', binary: FAKE_CLAUDE }];
const runtime = { retry_backoff_base: '100ms', retry_backoff_cap: '200ms' };
const webhooks = { backoff_base: '100ms', backoff_cap: '500ms', poll_interval: '50ms', timeout: '2s' };
const ALL = ['task.completed', 'task.failed', 'task.blocked', 'task.cancelled', 'daemon.offline', 'daemon.throttled'] as const;

const event = (r: { json: Record<string, unknown> }) => r.json as unknown as WebhookEvent;

let s: TestServer;
const daemons: TestDaemon[] = [];
const receivers: Receiver[] = [];

beforeAll(async () => {
  s = await startTestServer({ config: { agents, runtime, webhooks } });
});
afterAll(async () => {
  for (const d of daemons) await d.stop();
  for (const r of receivers) await r.close();
  await s?.close();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

describe('task events from runs', () => {
  let ws: WorkspaceHandle;
  beforeAll(async () => {
    ws = await s.workspace('hooks-runs');
    daemons.push(await startTestDaemon(s.url, ws.tokens.daemon, { config: { agents, runtime }, name: 'runs-daemon' }));
  });

  it('sends completed, the final failure, and blocked; each failed attempt only with includeRetries', async () => {
    const final = await receiver();
    const everyAttempt = await receiver();
    const admin = ws.client('admin');
    const hook = await admin.webhooks.create({ url: final.url, events: ['task.completed', 'task.failed', 'task.blocked'] });
    const retries = await admin.webhooks.create({ url: everyAttempt.url, events: ['task.failed'], includeRetries: true });

    const client = ws.client();
    const ok = await client.tasks.create({ assignedAgent: 'fake', prompt: 'build it --lines 3', metadata: { pipeline: 'ci-42' } });
    const bad = await client.tasks.create({ assignedAgent: 'fake', prompt: 'break it --exit 3', maxAttempts: 2 });
    const asks = await client.tasks.create({ assignedAgent: 'claude-code', prompt: 'set up the store ask="Which database?"' });

    await final.waitFor(3, 'completed, failed and blocked');
    await everyAttempt.waitFor(2, 'both failed attempts');
    const byType = new Map(final.received.map((r) => [event(r).type, event(r)]));
    for (const r of [...final.received]) expect(signatureValid(r, hook.secret)).toBe(true);

    expect(byType.get('task.completed')!.data.task).toMatchObject({ id: ok.id, status: 'completed', attempt: 1, title: 'build it --lines 3', metadata: { pipeline: 'ci-42' }, failureClass: null, exitCode: 0 });
    expect(byType.get('task.completed')!.data.task!.finishedAt).not.toBeNull();
    // Only the final failure: attempt 2 of 2, nothing scheduled.
    expect(byType.get('task.failed')!.data.task).toMatchObject({ id: bad.id, status: 'failed', attempt: 2, maxAttempts: 2, willRetry: false, retryAt: null, failureClass: 'agent_error', exitCode: 3 });
    expect(byType.get('task.blocked')!.data.task).toMatchObject({ id: asks.id, status: 'blocked', question: 'Which database?' });
    expect(final.received.filter((r) => event(r).type === 'task.failed')).toHaveLength(1);

    // includeRetries: the attempt that will be retried too, with when.
    const attempts = everyAttempt.received.map((r) => event(r).data.task!);
    for (const r of everyAttempt.received) expect(signatureValid(r, retries.secret)).toBe(true);
    expect(attempts.map((t) => [t.attempt, t.willRetry])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(attempts[0]!.retryAt).not.toBeNull();
    // Two events, two ids; the final failure is the same event for both subscriptions.
    expect(event(everyAttempt.received[0]!).id).not.toBe(event(everyAttempt.received[1]!).id);
    expect(event(everyAttempt.received[1]!).id).toBe(byType.get('task.failed')!.id);

    // A manual retry that fails again is a new event.
    await client.tasks.retry(bad.id);
    await final.waitFor(4, 'the second final failure');
    expect(event(final.received[3]!)).toMatchObject({ type: 'task.failed', data: { task: { id: bad.id, attempt: 3 } } });
  });
});

describe('runtime events', () => {
  it('go to the workspaces the runtime serves, once per spell, and to no other', async () => {
    const A = await s.workspace('hooks-rt-a');
    const B = await s.workspace('hooks-rt-b');
    const ra = await receiver();
    const rb = await receiver();
    await A.client('admin').webhooks.create({ url: ra.url, events: [...ALL] });
    await B.client('admin').webhooks.create({ url: rb.url, events: [...ALL] });

    // A's runtime over a 1 MB memory threshold (its own RSS is far more): throttled from its first health report on, without a break.
    const d = await startTestDaemon(s.url, A.tokens.daemon, { config: { agents, runtime: { memory_threshold_mb: 1 } }, name: 'hot-daemon' });
    daemons.push(d);
    await ra.waitFor(1, 'daemon.throttled');
    expect(event(ra.received[0]!)).toMatchObject({ type: 'daemon.throttled', workspaceId: 'hooks-rt-a', data: { daemon: { id: d.id, name: 'hot-daemon', throttled: true, state: 'online' } } });
    expect(event(ra.received[0]!).data.daemon!.throttleReason).toMatch(/^memory \d+ MB over threshold 1 MB$/);

    // Offline once silent for max(3 × heartbeat, lease) = 2 s here.
    await d.stop();
    daemons.splice(daemons.indexOf(d), 1);
    await ra.waitFor(2, 'daemon.offline', 20_000);
    expect(event(ra.received[1]!)).toMatchObject({ type: 'daemon.offline', workspaceId: 'hooks-rt-a', data: { daemon: { id: d.id, state: 'offline' } } });

    await new Promise((r) => setTimeout(r, 1_500));
    expect(ra.received.map((r) => event(r).type)).toEqual(['daemon.throttled', 'daemon.offline']);
    expect(rb.received).toEqual([]);
  }, 40_000);
});

// Several server processes on one database need PostgreSQL; on PGlite this test is not registered.
itOnPostgres('several servers queue and deliver each event once, whichever server made it', async () => {
  const other = await startTestServer({ db: s.db, config: { agents, runtime, webhooks } });
  try {
    const ws = await s.workspace('hooks-fleet');
    const r = await receiver();
    await ws.client('admin').webhooks.create({ url: r.url, events: ['task.cancelled', 'daemon.offline'] });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const ids: string[] = [];
    for (const [i, server] of [s, other, s, other, s, other].entries()) {
      const client = new SwitchyardClient({ url: server.url, token: ws.tokens.member });
      const t = await client.tasks.create({ assignedAgent: 'fake', prompt: `fleet ${i}`, runAfter: later });
      await client.tasks.cancel(t.id);
      ids.push(t.id);
    }
    // A runtime on the other server goes away: both servers' sweeps see it offline.
    const d = await startTestDaemon(other.url, ws.tokens.daemon, { config: { agents }, name: 'fleet-daemon' });
    await d.stop();
    await r.waitFor(7, 'six task events and one runtime event', 20_000);
    await new Promise((res) => setTimeout(res, 1_500));
    expect(r.received).toHaveLength(7);
    expect(r.received.filter((x) => event(x).type === 'task.cancelled').map((x) => event(x).data.task!.id).sort()).toEqual([...ids].sort());
    expect(new Set(r.received.map((x) => x.headers['x-switchyard-delivery'])).size).toBe(7);
    const { rows } = await s.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_deliveries d JOIN webhook_subscriptions w ON w.id = d.subscription_id WHERE w.workspace_id = 'hooks-fleet'`);
    expect(rows[0]!.n).toBe(7);
  } finally {
    await other.close();
  }
}, 40_000);

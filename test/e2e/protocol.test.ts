import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRawDaemon } from '../helpers/rawDaemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';

const health = (over: boolean) => ({
  type: 'health',
  cpu: over ? 0.97 : 0.1,
  memUsedMb: 1000,
  memTotalMb: 8000,
  agentsRssMb: 0,
  active: 0,
  throttled: over,
  throttleReason: over ? 'CPU load 0.97 over threshold 0.85' : null,
});

describe('the runtime protocol', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ config: { streaming: { max_message_size: '64KB' } } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('gives a throttled runtime no work until it reports it is back under its thresholds', async () => {
    const ws = await s.workspace('throttle');
    const raw = await connectRawDaemon(s.url, ws.tokens.daemon, { agents: ['busy-agent'] });
    raw.hello();
    await raw.waitFrame((f) => f.type === 'welcome', 'welcome');
    raw.send(health(true));
    await until(async () => (await ws.client().daemons.list()).items.find((d) => d.id === raw.id)?.throttled, 'the server to record the throttle');

    const task = await ws.client().tasks.create({ assignedAgent: 'busy-agent', prompt: 'wait your turn' });
    await sleep(1500); // several dispatcher sweeps
    expect(raw.frames.filter((f) => f.type === 'assign')).toEqual([]);
    expect((await ws.client().tasks.get(task.id)).status).toBe('queued');

    raw.send(health(false));
    const assign = await raw.waitFrame((f) => f.type === 'assign', 'an assign once recovered');
    expect(assign.taskId).toBe(task.id);
    await raw.close();
    await ws.client().tasks.cancel(task.id);
  });

  it('answers malformed, oversized and out-of-protocol frames with error frames and keeps serving', async () => {
    const raw = await connectRawDaemon(s.url, s.daemonToken);
    raw.sendText('{ not json');
    await raw.waitFrame((f) => f.type === 'error' && f.code === 'invalid_json', 'invalid_json');
    raw.send({ type: 'events', taskId: '00000000-0000-4000-8000-000000000000', attempt: 1, events: [] });
    await raw.waitFrame((f) => f.type === 'error' && f.code === 'invalid_frame', 'invalid_frame for an empty batch');
    raw.send({ type: 'bogus' });
    await until(() => raw.frames.filter((f) => f.type === 'error' && f.code === 'invalid_frame').length >= 2, 'invalid_frame for an unknown type');
    raw.send({ type: 'health', cpu: 0.1, memUsedMb: 1, agentsRssMb: 0, active: 0, throttled: false, throttleReason: null });
    await raw.waitFrame((f) => f.type === 'error' && f.code === 'hello_required', 'hello_required before hello');
    raw.sendText(JSON.stringify({ type: 'hello', padding: 'x'.repeat(100 * 1024) }));
    await raw.waitFrame((f) => f.type === 'error' && f.code === 'message_too_large', 'message_too_large');
    raw.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await until(() => raw.frames.filter((f) => f.type === 'error' && f.code === 'invalid_frame').length >= 3, 'binary frames refused');

    // Still a working connection: a proper hello is welcomed.
    raw.hello();
    await raw.waitFrame((f) => f.type === 'welcome', 'welcome after the bad frames');
    // Events for a run that is not this runtime's are discarded, not stored.
    const stranger = '00000000-0000-4000-8000-0000000000aa';
    raw.send({ type: 'events', taskId: stranger, attempt: 1, events: [{ seq: 1, at: new Date().toISOString(), stream: 'stdout', kind: 'text', text: 'x', raw: 'x' }] });
    await raw.waitFrame((f) => f.type === 'discard' && f.taskId === stranger, 'a discard for a foreign run');
    raw.hello();
    await raw.waitFrame((f) => f.type === 'error' && f.code === 'protocol', 'a second hello refused');
    expect(raw.closed()).toBe(false);

    // The server serves everyone else as before.
    const other = await connectRawDaemon(s.url, s.daemonToken);
    other.hello();
    await other.waitFrame((f) => f.type === 'welcome', 'welcome for another runtime');
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    await other.close();
    await raw.close();
  });

  it('refuses runtimes without a daemon token', async () => {
    const ws = await s.workspace('no-daemon');
    const attempt = (token: string) =>
      new Promise<number>((resolve) => {
        void import('ws').then(({ default: WebSocket }) => {
          const sock = new WebSocket(`${s.url.replace('http', 'ws')}/api/v1/daemon/connect`, { headers: { authorization: `Bearer ${token}` } });
          sock.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          sock.on('close', (code) => resolve(code));
          sock.on('error', () => undefined);
        });
      });
    expect(await attempt('not-a-token')).toBe(401);
    expect(await attempt(ws.tokens.member)).toBe(4403);
  });
});

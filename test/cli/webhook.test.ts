/**
 * `switchyard webhook …` against a real server and a receiver on
 * 127.0.0.1, as child processes (`node bin/switchyard.mjs … --url --token`):
 * the secret is printed once, `test` waits for its attempt and exits 0 or 1,
 * the delivery log shows it. Needs `npm run build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Webhook, WebhookDelivery } from '../../src/client/index.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/daemon.js';
import { signatureValid, startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';

let s: TestServer;
let ws: WorkspaceHandle;
let ok: Receiver;
let broken: Receiver;
const home = tempDir('sy-cli-webhook-home-');

beforeAll(async () => {
  s = await startTestServer({ config: { webhooks: { poll_interval: '50ms', backoff_base: '10s' } } });
  ws = await s.workspace('cli-hooks');
  ok = await startReceiver();
  broken = await startReceiver(() => 500);
});
afterAll(async () => {
  await ok?.close();
  await broken?.close();
  await s?.close();
});

const cli = (args: string[], token = ws.tokens.admin) => runCli([...args, '--url', s.url, '--token', token], { env: cliEnv(home) });

describe('switchyard webhook', () => {
  it('creates a webhook, prints its secret once, tests it and shows the delivery', async () => {
    const created = await cli(['webhook', 'create', ok.url, '--events', 'task.completed,task.failed', '--description', 'CI']);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^whsec_/);
    expect(created.stderr).toContain('not shown again');

    const list = await cli(['webhook', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const [hook] = JSON.parse(list.stdout) as Webhook[];
    expect(hook).toMatchObject({ url: ok.url, events: ['task.completed', 'task.failed'], active: true });
    expect(list.stdout).not.toContain(secret);
    const table = await cli(['webhook', 'list']);
    expect(table.stdout).toContain(hook!.id);

    const test = await cli(['webhook', 'test', hook!.id]);
    expect(test.code, test.stderr).toBe(0);
    expect(test.stdout).toMatch(/^test delivery [0-9a-f-]{36}: delivered \(HTTP 200\) after 1 attempt\n$/);
    expect(ok.received).toHaveLength(1);
    expect(signatureValid(ok.received[0]!, secret)).toBe(true);

    const log = await cli(['webhook', 'deliveries', hook!.id, '--json']);
    const { items } = JSON.parse(log.stdout) as { items: WebhookDelivery[] };
    expect(items).toMatchObject([{ event: 'webhook.test', status: 'delivered', attempts: 1, lastStatus: 200 }]);
    const show = await cli(['webhook', 'show', hook!.id]);
    expect(show.stdout).toContain('state         active');
    expect(show.stdout).toContain('webhook.test');
    expect(show.stdout).not.toContain(secret);
  });

  it('exits 1 when the test event is refused, and shows the error in the log', async () => {
    const created = await cli(['webhook', 'create', broken.url, '--events', 'all', '--format', 'slack', '--json']);
    const hook = JSON.parse(created.stdout) as Webhook & { secret: string };
    expect(hook.events).toHaveLength(6);
    const test = await cli(['webhook', 'test', hook.id]);
    expect(test.code).toBe(1);
    expect(test.stdout).toContain('pending: attempt 1 failed (HTTP 500: receiver says 500)');
    const log = await cli(['webhook', 'deliveries', hook.id]);
    expect(log.stdout).toMatch(/webhook\.test\s+pending\s+1\s+500\s+HTTP 500/);

    const paused = await cli(['webhook', 'update', hook.id, '--active', 'false']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain('state         paused');
    const rotated = await cli(['webhook', 'update', hook.id, '--rotate-secret']);
    expect(rotated.stdout.trim()).toMatch(/^whsec_/);
    expect(rotated.stdout.trim()).not.toBe(hook.secret);
    const gone = await cli(['webhook', 'delete', hook.id]);
    expect(gone.stdout).toContain(`deleted ${hook.id}`);
  });

  it('refuses bad input before calling the server, and is for admins only', async () => {
    const bad = await cli(['webhook', 'create', ok.url, '--events', 'task.exploded']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown event "task.exploded"');
    const member = await cli(['webhook', 'list'], ws.tokens.member);
    expect(member.code).toBe(1);
    expect(member.stderr).toContain('HTTP 403');
  });
});

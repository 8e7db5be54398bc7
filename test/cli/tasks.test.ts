/**
 * The `switchyard` command against a real server and runtime: each command
 * runs as a child process (`node bin/switchyard.mjs … --url --token`), the
 * way a person or a CI job runs it. Needs `npm run build` first.
 */
import { writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task, Token, Workspace } from '../../src/core/api.js';
import { cliEnv, runCli, type CliResult as Result } from '../helpers/cli.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

/** CI machines are busy (2 CPUs running PGlite and child processes): a runtime that throttled itself on load would make these tests slow and flaky. */
const UNTHROTTLED = { runtime: { cpu_threshold: 2 } };
let s: TestServer;
let ws: WorkspaceHandle;
let d: TestDaemon;
/** A data folder with nothing in it, so no command finds a local server by itself. */
const home = tempDir('sy-cli-home-');

beforeAll(async () => {
  s = await startTestServer();
  ws = await s.workspace('cli', { allowedAgents: ['fake', 'ghost'] });
  d = await startTestDaemon(s.url, ws.tokens.daemon, { config: UNTHROTTLED });
});
afterAll(async () => {
  await d?.stop();
  await s?.close();
});

const cli = (args: string[], opts: { input?: string } = {}) => runCli(args, { env: cliEnv(home), input: opts.input ?? '' });

/** The same, connected as `token` (default: the workspace member). */
const as = (token: string) => (args: string[], opts?: { input?: string }) => cli([...args, '--url', s.url, '--token', token], opts);
const member = (args: string[], opts?: { input?: string }) => as(ws.tokens.member)(args, opts);

function ok(r: Result): Result {
  expect(r.code, `exit code; stderr: ${r.stderr}`).toBe(0);
  return r;
}

function json<T>(r: Result): T {
  ok(r);
  return JSON.parse(r.stdout) as T;
}

const status = async (id: string) => (await ws.client().tasks.get(id)).status;
const settle = (id: string, want: Task['status']) => until(async () => (await status(id)) === want, `task ${id} to be ${want}`);

describe('task commands', () => {
  it('creates a task from an argument, lists it, shows it and prints its transcript', async () => {
    const created = ok(await member(['task', 'create', '--agent', 'fake', '--priority', '3', 'work --lines 3']));
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.stderr).toContain('queued in cli for fake');
    expect(created.stderr).toContain(`switchyard task logs --follow ${id}`);
    await settle(id, 'completed');

    const table = ok(await member(['task', 'list'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^ID\s+STATUS\s+AGENT\s+PRIO\s+TRY\s+CREATED\s+PROMPT$/);
    expect(table).toMatch(new RegExp(`${id}\\s+completed\\s+fake\\s+3\\s+1`));

    const shown = ok(await member(['task', 'show', id])).stdout;
    expect(shown).toContain(`${id}  COMPLETED`);
    expect(shown).toContain('prompt      work --lines 3');
    expect(shown).toMatch(/run 1\s+completed on/);
    expect(shown).toMatch(/queued → claimed[\s\S]*claimed → executing[\s\S]*executing → completed/);

    expect(ok(await member(['task', 'logs', id])).stdout).toBe('line 1\nline 2\nline 3\n');
    expect(ok(await member(['task', 'logs', id, '--after', '2'])).stdout).toBe('line 3\n');
  });

  it('reads the prompt from --prompt-file and from stdin', async () => {
    const file = join(home, 'prompt.md');
    writeFileSync(file, 'Fix the flaky login test\n\nSee ENG-42.\n');
    const fromFile = json<Task>(await member(['task', 'create', '--agent', 'ghost', '--prompt-file', file, '--json']));
    expect(fromFile).toMatchObject({ prompt: 'Fix the flaky login test\n\nSee ENG-42.\n', assignedAgent: 'ghost', status: 'queued' });

    const fromStdin = json<Task>(await member(['task', 'create', '--agent', 'ghost', '--metadata', '{"ticket":"ENG-43"}', '--json', '-'], { input: 'Prompt from a pipe\n' }));
    expect(fromStdin).toMatchObject({ prompt: 'Prompt from a pipe\n', metadata: { ticket: 'ENG-43' } });

    const both = await member(['task', 'create', '--agent', 'ghost', '--prompt-file', file, 'and an argument']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
    const missing = await member(['task', 'create', '--agent', 'ghost', '--prompt-file', join(home, 'nope.md')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ENOENT');
  });

  it('prints machine-readable JSON from list and show', async () => {
    const older = json<Task>(await member(['task', 'create', '--agent', 'ghost', '--json', 'json first']));
    const t = json<Task>(await member(['task', 'create', '--agent', 'ghost', '--json', 'json please']));
    const page = json<{ items: Task[]; nextCursor: string | null }>(await member(['task', 'list', '--agent', 'ghost', '--status', 'queued', '--limit', '1', '--json']));
    expect(page.items).toHaveLength(1);
    expect(page.items[0]!.id).toBe(t.id);
    expect(page.nextCursor).toEqual(expect.any(String));
    const next = json<{ items: Task[] }>(await member(['task', 'list', '--agent', 'ghost', '--cursor', page.nextCursor!, '--json']));
    expect(next.items.map((x) => x.id)).toContain(older.id);
    expect(next.items.map((x) => x.id)).not.toContain(t.id);
    const shown = json<Task & { runs: unknown[] }>(await member(['task', 'show', t.id, '--json']));
    expect(shown).toMatchObject({ id: t.id, status: 'queued', statusReason: 'no runtime has agent ghost', runs: [] });
    expect(shown.timeline).toHaveLength(1);
  });

  it('follows the transcript live until the task completes', async () => {
    const id = ok(await member(['task', 'create', '--agent', 'fake', 'slow --lines 20 --rate 40'])).stdout.trim();
    const r = ok(await member(['task', 'logs', '--follow', id]));
    expect(r.stdout).toBe(Array.from({ length: 20 }, (_, i) => `line ${i + 1}\n`).join(''));
    expect(r.stderr).toContain('— completed');
    expect(await status(id)).toBe('completed');
  });

  it('follows a failing task to its end and exits 1', async () => {
    const id = ok(await member(['task', 'create', '--agent', 'fake', '--max-attempts', '1', 'boom --lines 2 --exit 1'])).stdout.trim();
    const r = await member(['task', 'logs', '-f', id]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('line 2');
    expect(r.stderr).toMatch(/— failed: agent_error/);
  });

  it('cancels a queued task and a running one', async () => {
    const queued = json<Task>(await member(['task', 'create', '--agent', 'ghost', '--json', 'never runs']));
    expect(ok(await member(['task', 'cancel', queued.id])).stdout).toBe(`${queued.id} cancelled\n`);

    const running = ok(await member(['task', 'create', '--agent', 'fake', 'wait --hang'])).stdout.trim();
    await settle(running, 'executing');
    const r = json<Task>(await member(['task', 'cancel', running, '--reason', 'changed my mind', '--json']));
    expect(r).toMatchObject({ id: running, status: 'cancelled' });
    expect(await status(running)).toBe('cancelled');
  });

  it('refuses to cancel twice, to retry what did not fail and to answer what is not blocked, saying why', async () => {
    const t = json<Task>(await member(['task', 'create', '--agent', 'ghost', '--json', 'refusals']));
    ok(await member(['task', 'cancel', t.id]));

    const again = await member(['task', 'cancel', t.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`task ${t.id} is cancelled`);
    expect(again.stderr).toContain('HTTP 409');

    const retry = await member(['task', 'retry', t.id]);
    expect(retry.code).toBe(1);
    expect(retry.stderr).toContain('only failed tasks can be retried');

    const answer = await member(['task', 'answer', t.id, 'use main']);
    expect(answer.code).toBe(1);
    expect(answer.stderr).toContain('only blocked tasks can be answered');
    expect(await status(t.id)).toBe('cancelled');
  });

  it('retries a failed task', async () => {
    const id = ok(await member(['task', 'create', '--agent', 'fake', '--max-attempts', '1', 'boom --exit 1'])).stdout.trim();
    await settle(id, 'failed');
    const r = ok(await member(['task', 'retry', id]));
    expect(r.stdout).toContain(`${id} re-queued`);
    await until(async () => (await ws.client().tasks.runs(id)).items.length === 2, 'the second attempt');
  });

  it('says which agents the workspace allows when the agent is refused', async () => {
    const r = await member(['task', 'create', '--agent', 'codex', 'not here']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('allowed agents: fake, ghost');
  });
});

describe('workspace and token commands', () => {
  const admin = (args: string[]) => as(s.adminToken)(args);

  it('creates, lists, shows and updates a workspace', async () => {
    const created = json<Workspace>(await admin(['workspace', 'create', 'cli-two', '--name', 'Second', '--allowed-agents', 'fake,codex', '--max-concurrent', '2', '--json']));
    expect(created).toMatchObject({ id: 'cli-two', name: 'Second', allowedAgents: ['fake', 'codex'], maxConcurrentTasks: 2, auditLogEnabled: false });

    const listed = json<Workspace[]>(await admin(['workspace', 'list', '--json']));
    expect(listed.map((w) => w.id)).toEqual(expect.arrayContaining(['cli', 'cli-two', 'default']));
    expect(ok(await admin(['workspace', 'list'])).stdout).toMatch(/cli-two\s+Second\s+fake,codex\s+2\s+off/);

    const shown = ok(await admin(['workspace', 'show', 'cli-two'])).stdout;
    expect(shown).toContain('cli-two  Second');
    expect(shown).toMatch(/allowed agents\s+fake, codex/);

    const updated = json<Workspace>(await admin(['workspace', 'update', 'cli-two', '--all-agents', '--audit', '--max-concurrent', '5', '--json']));
    expect(updated).toMatchObject({ allowedAgents: null, auditLogEnabled: true, maxConcurrentTasks: 5, name: 'Second' });
    expect(ok(await admin(['workspace', 'show', 'cli-two'])).stdout).toMatch(/allowed agents\s+all/);

    const dup = await admin(['workspace', 'create', 'cli-two']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('already exists');
  });

  it("creates a token whose secret works, lists it, and revokes it so it works no more", async () => {
    const wsAdmin = as(ws.tokens.admin);
    const created = ok(await wsAdmin(['token', 'create', '--role', 'viewer', '--name', 'ci-reader']));
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^syv_/);
    expect(created.stderr).toContain('Save it now');
    expect(json<{ items: Task[] }>(await as(secret)(['task', 'list', '--json'])).items.length).toBeGreaterThan(0);

    const tokens = json<Token[]>(await wsAdmin(['token', 'list', '--json']));
    const mine = tokens.find((t) => t.name === 'ci-reader')!;
    expect(mine).toMatchObject({ role: 'viewer', workspaceId: 'cli', revokedAt: null, prefix: secret.slice(0, 8) });
    expect(JSON.stringify(tokens)).not.toContain(secret);
    expect(ok(await wsAdmin(['token', 'list'])).stdout).toMatch(new RegExp(`${mine.id}\\s+ci-reader\\s+viewer\\s+${secret.slice(0, 8)}\\s+active`));

    expect(ok(await wsAdmin(['token', 'revoke', mine.id])).stdout).toBe(`revoked ${mine.id} (ci-reader)\n`);
    const refused = await as(secret)(['task', 'list']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('HTTP 401');
    expect(refused.stderr).toContain('Check --token');
  });

  it('refuses a token that its role may not create', async () => {
    const r = await member(['token', 'create', '--role', 'admin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('HTTP 403');
  });
});

describe('mistakes', () => {
  it.each([
    [['task', 'create', 'no agent given'], "required option '--agent <name>'"],
    [['task', 'frobnicate'], "unknown command 'frobnicate'"],
    [['task', 'show'], "missing required argument 'id'"],
    [['task', 'list', '--limit', 'lots'], '--limit must be a whole number'],
    [['task', 'create', '--agent', 'fake'], 'the prompt is empty'],
    [['task', 'create', '--agent', 'fake', '--metadata', '[1]', 'x'], '--metadata must be a JSON object'],
    [['token', 'create', '--role', 'root'], '--role must be one of admin, member, viewer, daemon'],
  ])('exits 2 with a hint for a usage error: %j', async (args, message) => {
    const r = await member(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('exits 2 and says how to connect when there is no server to talk to', async () => {
    const r = await cli(['task', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('switchyard up');
    expect(r.stderr).toContain('--url');
  });

  it('exits 1 with a clear message when the server is unreachable', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createNetServer();
      probe.listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const r = await cli(['task', 'list', '--url', `http://127.0.0.1:${port}`, '--token', ws.tokens.member]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the Switchyard server at http://127.0.0.1:${port}`);
    expect(r.stderr).toContain('Is it running?');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

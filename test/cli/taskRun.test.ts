import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeAgent } from '../helpers/config.js';
import { CLI, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/fake-claude.mjs', import.meta.url));
const agents = [fakeAgent(), { name: 'claude-code', binary: FAKE_CLAUDE }];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('switchyard task run (for pipelines)', () => {
  let s: TestServer;
  let d: TestDaemon;
  let token: string;
  beforeAll(async () => {
    s = await startTestServer({ config: { agents } });
    d = await startTestDaemon(s.url, s.daemonToken, { config: { agents } });
    const ws = await s.workspace('ci', { allowedAgents: ['fake', 'claude-code'] });
    token = ws.tokens.member;
  });
  afterAll(async () => {
    await d?.stop();
    await s?.close();
  });

  // Only SWITCHYARD_URL and SWITCHYARD_TOKEN: what a CI job has.
  const run = (args: string[], env: Record<string, string> = {}, input?: string): Promise<Result> =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [CLI, 'task', 'run', ...args],
        { env: { PATH: process.env.PATH ?? '', SWITCHYARD_URL: s.url, SWITCHYARD_TOKEN: token, SWITCHYARD_HOME: '/nonexistent', ...env }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
      else child.stdin!.end();
    });

  it('exits 0 when the task completes, having streamed its transcript', async () => {
    const r = await run(['--agent', 'fake', 'build --lines 3 --stderr 1']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('line'))).toEqual(['line 1', 'line 2', 'line 3']);
    expect(r.stdout).toContain('! err 1');
    expect(r.stderr).toContain('completed');
  });

  it('exits 1 when it fails for good (and waits out scheduled retries)', async () => {
    const r = await run(['--agent', 'fake', '--max-attempts', '1', 'break --lines 1 --exit 1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed — agent_error: exit code 1/);
  });

  it('exits 2 when the agent asks a question, and says how to answer', async () => {
    const r = await run(['--agent', 'claude-code', 'migrate ask="Which schema?"']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the agent asks: Which schema?');
    expect(r.stderr).toMatch(/switchyard task answer [0-9a-f-]{36}/);
  });

  it('exits 3 after cancelling a task that outlives --timeout', async () => {
    const r = await run(['--agent', 'fake', '--timeout', '1s', 'wait --lines 1 --hang']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no result after 1s');
  });

  it('reads the prompt from stdin and prints JSON lines with --json', async () => {
    const r = await run(['--agent', 'fake', '--json', '-'], {}, 'from stdin --lines 2');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; event?: { text: string }; task?: { status: string; prompt: string } });
    expect(lines[0]).toMatchObject({ type: 'task', task: { status: 'queued', prompt: 'from stdin --lines 2' } });
    expect(lines.filter((l) => l.type === 'event').map((l) => l.event!.text)).toEqual(['line 1', 'line 2']);
    expect(lines.at(-1)).toMatchObject({ type: 'task', task: { status: 'completed' } });
  });

  it('exits 4 when the server cannot be reached or refuses the input', async () => {
    expect((await run(['--agent', 'fake', 'x'], { SWITCHYARD_URL: 'http://127.0.0.1:1' })).code).toBe(4);
    const refused = await run(['--agent', 'codex', 'x']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('allowed agents: fake, claude-code');
    expect((await run(['x'])).code).toBe(4); // no --agent
    expect((await run(['--agent', 'fake', '--timeout', 'soon', 'x'])).code).toBe(4);
    expect((await run(['--agent', 'fake', 'x'], { SWITCHYARD_TOKEN: 'bogus' })).code).toBe(4);
  });
});

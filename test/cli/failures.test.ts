/**
 * `switchyard failures` against a real server and runtime, as child
 * processes: the table a person reads (grouped by class and by prompt), the
 * JSON a script reads, and usage errors (exit 2) for a grouping or a window
 * the command cannot have. Needs `npm run build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FailurePatterns } from '../../src/core/api.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { authbotAgent, fakeAgent } from '../helpers/config.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { failTask } from '../helpers/wait.js';

const CONFIG = { runtime: { cpu_threshold: 2 }, agents: [fakeAgent(), authbotAgent] };

let s: TestServer;
let ws: WorkspaceHandle;
let daemon: TestDaemon;
const home = tempDir('sy-cli-failures-home-');
const failed: string[] = [];

beforeAll(async () => {
  s = await startTestServer({ config: CONFIG });
  ws = await s.workspace('cli-failures');
  await s.workspace('cli-failures-none');
  daemon = await startTestDaemon(s.url, s.daemonToken, { config: CONFIG, name: 'cli-failures-daemon' });
  const c = ws.client();
  failed.push(await failTask(c, 'fake', '--exit 2 nightly release notes'));
  failed.push(await failTask(c, 'fake', '--exit 2 nightly release notes'));
  failed.push(await failTask(c, 'authbot', 'publish the package'));
}, 120_000);
afterAll(async () => {
  await daemon?.stop();
  await s?.close();
});

const cli = (args: string[], token = ws.tokens.viewer) => runCli(['failures', ...args, '--url', s.url, '--token', token], { env: cliEnv(home) });

describe('switchyard failures', () => {
  it('prints failure classes as a table: counts, tasks, the agents behind them and the latest task', async () => {
    const r = await cli([]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^3 failed runs since 7d \(\d{4}-\d\d-\d\dT[\d:.]+Z\), 2 groups by class$/);
    expect(r.stdout).toMatch(/CLASS\s+FAILURES\s+TASKS\s+LAST\s+AGENTS\s+LATEST TASK/);
    const agentError = lines.find((l) => l.startsWith('agent_error'));
    expect(agentError).toMatch(new RegExp(`^agent_error\\s+2\\s+2\\s+\\d+s ago\\s+fake 2\\s+${failed[1]}$`));
    expect(lines.find((l) => l.startsWith('auth '))).toMatch(new RegExp(`^auth\\s+1\\s+1\\s+.*authbot 1\\s+${failed[2]}$`));
    expect(r.stderr).toContain('switchyard task show <id>');
  });

  it('groups by prompt, showing the prompt instead of its hash', async () => {
    const r = await cli(['--group-by', 'prompt', '--since', '24h']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PROMPT\s+FAILURES\s+TASKS\s+LAST\s+CLASSES\s+LATEST TASK/);
    expect(r.stdout).toMatch(/--exit 2 nightly release notes\s+2\s+2\s+.*agent_error 2/);
    expect(r.stdout).toMatch(/publish the package\s+1\s+1\s+.*auth 1/);
  });

  it('prints JSON for scripts, narrowed to one agent and limited', async () => {
    const r = await cli(['--group-by', 'agent', '--limit', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as FailurePatterns;
    expect(json).toMatchObject({ groupBy: 'agent', totalFailures: 3, totalGroups: 2 });
    expect(json.items.map((i) => [i.key, i.count, i.taskIds])).toEqual([['fake', 2, [failed[1], failed[0]]]]);
    const auth = JSON.parse((await cli(['--agent', 'authbot', '--json'])).stdout) as FailurePatterns;
    expect(auth.items.map((i) => i.key)).toEqual(['auth']);
    const limited = await cli(['--group-by', 'agent', '--limit', '1']);
    expect(limited.stderr).toContain('Showing 1 of 2 groups');
  });

  it('says so when the window has no failures', async () => {
    const r = await cli(['--workspace', 'cli-failures-none'], s.adminToken);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^No failed runs since 7d \(/);
  });

  it('exits 2 for a grouping it does not have, or a window the server cannot read', async () => {
    const groupBy = await cli(['--group-by', 'daemon']);
    expect(groupBy.code).toBe(2);
    expect(groupBy.stderr).toMatch(/--group-by.*daemon.*class, agent, model, prompt/s);
    const since = await cli(['--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('since');
    expect(since.stderr).toContain('HTTP 400');
    const limit = await cli(['--limit', 'many']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--limit must be a whole number');
  });
});

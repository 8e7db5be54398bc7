import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeAgent } from '../helpers/config.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/fake-claude.mjs', import.meta.url));
const agents = [fakeAgent(), fakeAgent({ name: 'fake-b' }), { name: 'claude-code', binary: FAKE_CLAUDE }];
const runtime = { retry_backoff_base: '50ms', retry_backoff_cap: '100ms' };

describe('agents in the daemon', () => {
  let s: TestServer;
  let d: TestDaemon;
  beforeAll(async () => {
    s = await startTestServer({ config: { agents, runtime } });
    d = await startTestDaemon(s.url, s.daemonToken, { config: { agents, runtime } });
  });
  afterAll(async () => {
    await d?.stop();
    await s?.close();
  });

  const settled = (id: string, status: string, timeoutMs = 15_000) =>
    until(async () => {
      const t = await s.admin.tasks.get(id);
      return t.status === status ? t : undefined;
    }, `task ${id} to be ${status}`, timeoutMs);

  it('stops a run whose reported usage passes the token budget, as token_budget_exceeded', async () => {
    const t = await s.admin.tasks.create({ assignedAgent: 'claude-code', prompt: 'long job turns=20 usage=100 delay=100', tokenBudget: 350 });
    const failed = await settled(t.id, 'failed');
    const [run] = (await s.admin.tasks.runs(t.id)).items;
    expect(run).toMatchObject({ failureClass: 'token_budget_exceeded' });
    expect(run!.failureReason).toContain('the budget is 350');
    expect(failed.runAfter).toBeNull(); // not retried: the budget would be passed again
    expect((run!.usage as { inputTokens: number }).inputTokens).toBeGreaterThan(300);
  });

  it('blocks on a question the agent asks with `switchyard ask`, then resumes its session with the answer', async () => {
    const t = await s.admin.tasks.create({ assignedAgent: 'claude-code', prompt: 'set up the store ask="Which database should I use?"' });
    const blocked = await settled(t.id, 'blocked');
    expect(blocked.question).toBe('Which database should I use?');
    expect(blocked.actions).toEqual(['cancel', 'answer']);
    const firstRun = (await s.admin.tasks.runs(t.id)).items[0]!;
    expect(firstRun.status).toBe('blocked');

    await s.admin.tasks.answer(t.id, 'PostgreSQL');
    const done = await settled(t.id, 'completed');
    expect(done.resultText).toBe('PostgreSQL');
    const runs = (await s.admin.tasks.runs(t.id)).items;
    expect(runs).toHaveLength(2);
    // The same session, resumed with only the answer — not the conversation replayed.
    expect(runs[1]!.sessionId).toBe(firstRun.sessionId);
    const events = (await s.admin.tasks.events(t.id, 0, 1000)).items;
    expect(events.some((e) => e.attempt === 2 && e.text === 'resumed with: PostgreSQL')).toBe(true);
  });

  it('retries a failed run by resuming its session with a short failure summary', async () => {
    const t = await s.admin.tasks.create({ assignedAgent: 'claude-code', prompt: 'flaky job fail', maxAttempts: 2 });
    const done = await until(async () => {
      const x = await s.admin.tasks.get(t.id);
      return x.status === 'completed' || (x.status === 'failed' && x.runAfter === null) ? x : undefined;
    }, 'the retry to finish');
    const runs = (await s.admin.tasks.runs(t.id)).items;
    expect(runs.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(done.status).toBe('completed');
    expect(runs[1]!.sessionId).toBe(runs[0]!.sessionId);
    // The resumed prompt carried the failure summary, not the transcript (the fake echoes its prompt's first line).
    expect(done.resultText).toMatch(/^done: The previous attempt failed: agent_error: API error 500/);
  });

  it('sends one prompt to three agents as a comparison group and compares them', async () => {
    const g = await s.admin.tasks.createGroup({ agents: ['fake', 'fake-b', 'claude-code'], prompt: 'compare --lines 2' });
    expect(g.tasks.map((t) => t.assignedAgent)).toEqual(['fake', 'fake-b', 'claude-code']);
    for (const t of g.tasks) await settled(t.id, 'completed');
    const group = await s.admin.tasks.group(g.id);
    expect(group.tasks.every((t) => t.latestRun?.status === 'completed')).toBe(true);
    const cli = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [fileURLToPath(new URL('../../bin/switchyard.mjs', import.meta.url)), 'task', 'compare', g.id, '--url', s.url, '--token', s.adminToken], { encoding: 'utf8', timeout: 20_000 }, (err, out) => (err ? reject(err) : resolve(out))),
    );
    for (const agent of ['fake', 'fake-b', 'claude-code']) expect(cli).toMatch(new RegExp(`^${agent}\\s+completed`, 'm'));
    expect(cli).toContain('done: compare --lines 2');
  });

  it('works in a git worktree of the named repository and records the diff summary', async () => {
    const repo = tempDir('sy-repo-');
    const g = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    g('init', '--quiet', '-b', 'main');
    writeFileSync(join(repo, 'README'), 'hello\n');
    g('add', '.');
    g('commit', '--quiet', '-m', 'initial');
    const t = await s.admin.tasks.create({ assignedAgent: 'fake', prompt: 'edit --write notes.txt', repo, baseRef: 'main' });
    await settled(t.id, 'completed');
    const [run] = (await s.admin.tasks.runs(t.id)).items;
    const diff = run!.diff as { branch: string; files: { path: string; insertions: number }[]; insertions: number; deletions: number; commits: unknown[] };
    expect(diff.branch).toBe(`switchyard/${t.id}`);
    expect(diff.files).toEqual([{ path: 'notes.txt', insertions: 1, deletions: 0 }]);
    expect(diff.insertions).toBe(1);
    expect(diff.commits).toHaveLength(1);
    // The work is on the task's branch in the daemon's repository cache, not in the user's checkout.
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' })).toBe('');
  });

  it('lets only the task\'s own token ask or report progress', async () => {
    const ws = await s.workspace('ask-auth');
    const t = await ws.client().tasks.create({ assignedAgent: 'nobody', prompt: 'x' });
    const res = await fetch(`${s.url}/api/v1/tasks/${t.id}/ask`, { method: 'POST', headers: { authorization: `Bearer ${ws.tokens.member}`, 'content-type': 'application/json' }, body: JSON.stringify({ question: 'q?' }) });
    expect(res.status).toBe(403);
    const other = await s.token('task', 'ask-auth');
    const res2 = await fetch(`${s.url}/api/v1/tasks/${t.id}/progress`, { method: 'POST', headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'm' }) });
    expect(res2.status).toBe(404);
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareWorktree, pruneWorktrees, summarizeWorktree } from '../../src/daemon/worktree.js';
import { tempDir } from '../helpers/daemon.js';

function makeRepo(): string {
  const repo = tempDir('sy-wt-repo-');
  const g = (...a: string[]) => execFileSync('git', a, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  g('init', '--quiet', '-b', 'main');
  writeFileSync(join(repo, 'a.txt'), 'one\ntwo\n');
  g('add', '.');
  g('commit', '--quiet', '-m', 'first');
  return repo;
}

const TASK = '11111111-2222-4333-8444-555555555555';

describe('task worktrees', () => {
  it('gives a task its own branch, commits what the agent left, and summarises the diff', async () => {
    const repo = makeRepo();
    const state = tempDir('sy-wt-state-');
    const wt = await prepareWorktree(state, repo, 'main', TASK);
    expect(wt.branch).toBe(`switchyard/${TASK}`);
    writeFileSync(join(wt.path, 'a.txt'), 'one\nTWO\nthree\n');
    writeFileSync(join(wt.path, 'b.txt'), 'new\n');
    const diff = await summarizeWorktree(wt, 'attempt 1');
    expect(diff.files).toEqual([
      { path: 'a.txt', insertions: 2, deletions: 1 },
      { path: 'b.txt', insertions: 1, deletions: 0 },
    ]);
    expect([diff.insertions, diff.deletions]).toEqual([3, 1]);
    expect(diff.commits.map((c) => c.subject)).toEqual(['attempt 1']);
    // The user's repository is untouched.
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' })).toBe('');
  });

  it('hands a resumed attempt the same worktree with its earlier work', async () => {
    const repo = makeRepo();
    const state = tempDir('sy-wt-state-');
    const first = await prepareWorktree(state, repo, null, TASK);
    writeFileSync(join(first.path, 'c.txt'), 'from attempt 1\n');
    await summarizeWorktree(first, 'attempt 1');
    const second = await prepareWorktree(state, repo, null, TASK);
    expect(second).toEqual(first);
    expect(existsSync(join(second.path, 'c.txt'))).toBe(true);
    writeFileSync(join(second.path, 'd.txt'), 'from attempt 2\n');
    const diff = await summarizeWorktree(second, 'attempt 2');
    expect(diff.commits.map((c) => c.subject)).toEqual(['attempt 1', 'attempt 2']);
    expect(diff.files.map((f) => f.path)).toEqual(['c.txt', 'd.txt']);
  });

  it('refuses an unknown base ref with git\'s reason', async () => {
    const repo = makeRepo();
    await expect(prepareWorktree(tempDir(), repo, 'no-such-branch', TASK)).rejects.toThrow(/git rev-parse failed/);
  });

  it('removes worktrees past their retention and keeps fresh ones', async () => {
    const repo = makeRepo();
    const state = tempDir('sy-wt-state-');
    const old = await prepareWorktree(state, repo, null, TASK);
    const fresh = await prepareWorktree(state, repo, null, '99999999-2222-4333-8444-555555555555');
    const longAgo = new Date(Date.now() - 10 * 86_400_000);
    utimesSync(old.path, longAgo, longAgo);
    const removed = await pruneWorktrees(state, 7 * 86_400_000);
    expect(removed).toEqual([TASK]);
    expect(existsSync(old.path)).toBe(false);
    expect(existsSync(fresh.path)).toBe(true);
  });
});

/**
 * Working copies for tasks that name a git repository: one bare cache per
 * repository (cloned once, fetched before each run), and one `git worktree`
 * per task on branch `switchyard/<task id>` — kept between the attempts of a
 * task, so a resumed agent finds its earlier work. After each run the
 * changes are committed on that branch and summarised (files, insertions,
 * deletions, commits). Every git call is an argument array, never a shell.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const GIT_ENV = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Switchyard',
  GIT_AUTHOR_EMAIL: 'switchyard@localhost',
  GIT_COMMITTER_NAME: 'Switchyard',
  GIT_COMMITTER_EMAIL: 'switchyard@localhost',
};

export function git(args: string[], cwd?: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...GIT_ENV } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args[0]} failed: ${(stderr || err.message).trim().split('\n').slice(-3).join(' ')}`));
      else resolve(stdout);
    });
  });
}

export interface Worktree {
  path: string;
  branch: string;
  base: string;
}

export interface DiffSummary {
  branch: string;
  base: string;
  head: string;
  commits: { sha: string; subject: string }[];
  files: { path: string; insertions: number; deletions: number }[];
  insertions: number;
  deletions: number;
}

const cacheName = (repo: string) => createHash('sha256').update(repo).digest('hex').slice(0, 16);

/** The task's worktree, created on first use from a fresh fetch of the repository. */
export async function prepareWorktree(stateDir: string, repo: string, baseRef: string | null, taskId: string): Promise<Worktree> {
  const cache = join(stateDir, 'repos', `${cacheName(repo)}.git`);
  const path = join(stateDir, 'worktrees', taskId);
  const branch = `switchyard/${taskId}`;
  const baseFile = `${path}.base`;
  if (existsSync(path) && existsSync(baseFile)) {
    return { path, branch, base: readFileSync(baseFile, 'utf8').trim() };
  }
  mkdirSync(join(stateDir, 'repos'), { recursive: true });
  mkdirSync(join(stateDir, 'worktrees'), { recursive: true });
  if (!existsSync(cache)) await git(['clone', '--bare', '--quiet', repo, cache]);
  else await git(['fetch', '--quiet', '--prune', repo, '+refs/heads/*:refs/heads/*'], cache).catch(async () => git(['fetch', '--quiet', repo], cache));
  const base = (await git(['rev-parse', '--verify', `${baseRef ?? 'HEAD'}^{commit}`], cache)).trim();
  await git(['worktree', 'prune'], cache);
  const branchExists = await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], cache).then(
    () => true,
    () => false,
  );
  if (branchExists) await git(['worktree', 'add', '--quiet', path, branch], cache);
  else await git(['worktree', 'add', '--quiet', '-b', branch, path, base], cache);
  writeFileSync(baseFile, `${base}\n`);
  return { path, branch, base };
}

/** Commits what the agent left uncommitted, then summarises the branch against its base. */
export async function summarizeWorktree(wt: Worktree, message: string): Promise<DiffSummary> {
  const status = await git(['status', '--porcelain'], wt.path);
  if (status.trim()) {
    await git(['add', '-A'], wt.path);
    await git(['commit', '--quiet', '--no-verify', '-m', message], wt.path);
  }
  const head = (await git(['rev-parse', 'HEAD'], wt.path)).trim();
  const log = await git(['log', '--format=%H%x09%s', `${wt.base}..${head}`], wt.path);
  const numstat = await git(['diff', '--numstat', wt.base, head], wt.path);
  const files = numstat
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [ins, del, ...rest] = line.split('\t');
      // Binary files show "-" for both counts.
      return { path: rest.join('\t'), insertions: ins === '-' ? 0 : Number(ins), deletions: del === '-' ? 0 : Number(del) };
    });
  return {
    branch: wt.branch,
    base: wt.base,
    head,
    commits: log
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [sha, ...subject] = l.split('\t');
        return { sha: sha!, subject: subject.join('\t') };
      })
      .reverse(),
    files,
    insertions: files.reduce((n, f) => n + f.insertions, 0),
    deletions: files.reduce((n, f) => n + f.deletions, 0),
  };
}

/** Removes worktrees untouched for longer than `maxAgeMs` (their branches stay in the cache). */
export async function pruneWorktrees(stateDir: string, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const dir = join(stateDir, 'worktrees');
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.endsWith('.base') || !statSync(path).isDirectory()) continue;
    if (now - statSync(path).mtimeMs < maxAgeMs) continue;
    await git(['worktree', 'remove', '--force', path], path).catch(() => rmSync(path, { recursive: true, force: true }));
    rmSync(`${path}.base`, { force: true });
    removed.push(name);
  }
  return removed;
}

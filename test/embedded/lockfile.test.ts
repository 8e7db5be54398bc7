/**
 * Two processes and one embedded data folder (issue 2: PGlite itself does
 * not refuse a second opener, and silently loses writes). The folder is
 * locked by its first opener: a second real process is refused with a
 * message naming the holder's pid, nothing it does touches the data, and a
 * lock left behind by a dead process is taken over.
 *
 * The second process runs the built code (dist/, made by `npm run build`,
 * which `npm test` runs first).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { DataDirLockedError } from '../../src/store/lockfile.js';
import { migrate } from '../../src/store/migrate.js';
import { openStore } from '../../src/store/open.js';
import { createWorkspace, listWorkspaces } from '../../src/store/workspaces.js';
import { CLI, tempDir } from '../helpers/daemon.js';
import { track, untrack } from '../helpers/leaks.js';
import { until } from '../helpers/wait.js';

const OPEN_JS = pathToFileURL(fileURLToPath(new URL('../../dist/store/open.js', import.meta.url))).href;
const WORKSPACES_JS = pathToFileURL(fileURLToPath(new URL('../../dist/store/workspaces.js', import.meta.url))).href;
const MIGRATE_JS = pathToFileURL(fileURLToPath(new URL('../../dist/store/migrate.js', import.meta.url))).href;

/** The environment of a user's shell: no DATABASE_URL (it would select PostgreSQL), no SWITCHYARD_* of the test run. */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL' && !k.startsWith('SWITCHYARD_') && !k.startsWith('PG')));
  return { ...env, SWITCHYARD_LOG_FORMAT: 'json' };
}

interface Child {
  pid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, args, { env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  track(proc, `process ${proc.pid} (${args.slice(0, 3).join(' ')})`);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code, signal) => {
      untrack(proc);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { pid: proc.pid!, output: () => stdout + stderr, exited };
}

/** A second process that opens the embedded database in `pgdata`, runs `body` (ESM, `db` in scope), prints its result as JSON and exits. */
function opener(pgdata: string, body: string): Child {
  const script = `
    import { openStore } from ${JSON.stringify(OPEN_JS)};
    import { createWorkspace, listWorkspaces } from ${JSON.stringify(WORKSPACES_JS)};
    import { migrate } from ${JSON.stringify(MIGRATE_JS)};
    const db = await openStore({ kind: 'pglite', dataDir: process.argv[1] });
    try {
      const result = await (async () => { ${body} })();
      process.stdout.write(JSON.stringify(result ?? null) + '\\n');
    } finally {
      await db.close();
    }
    void createWorkspace; void listWorkspaces; void migrate;
  `;
  return start(['--input-type=module', '-e', script, pgdata]);
}

/**
 * A folder holding a migrated embedded database (the run's snapshot, which
 * loads three times faster than a fresh one migrates) with one workspace,
 * written by this process and closed again.
 */
async function folderWithData(workspace: string): Promise<{ dataDir: string; pgdata: string }> {
  const dataDir = tempDir('sy-lock-');
  const pgdata = join(dataDir, 'pgdata');
  snapshot ??= new Blob([readFileSync(inject('pgliteSnapshot'))]);
  const db = await openEmbedded(pgdata, snapshot);
  try {
    expect(await migrate(db)).toEqual([]);
    await createWorkspace(db, { id: workspace });
  } finally {
    await closeEmbedded(db);
  }
  return { dataDir, pgdata };
}
let snapshot: Blob | undefined;

async function openEmbedded(pgdata: string, loadDataDir?: Blob): Promise<Db> {
  const db = await openStore({ kind: 'pglite', dataDir: pgdata, ...(loadDataDir ? { loadDataDir } : {}) });
  track(db, `embedded database in ${pgdata}`);
  return db;
}

async function closeEmbedded(db: Db): Promise<void> {
  await db.close();
  untrack(db);
}

/** The pid of a process that has come and gone. */
async function deadPid(): Promise<number> {
  const gone = start(['-e', '']);
  await gone.exited;
  return gone.pid;
}

// The lock guards the embedded database only: nothing to repeat on the PostgreSQL project.
describe('one embedded data folder, two processes', () => {
  it('refuses `switchyard serve` on a folder in use, naming the holder’s pid, and leaves the data untouched', async () => {
    const { dataDir, pgdata } = await folderWithData('first-process');
    const config = join(dataDir, 'config.yaml');
    writeFileSync(config, 'orchestrator:\n  runtime:\n    daemon_port: 0\n');
    const db = await openEmbedded(pgdata);
    let closed = false;
    try {
      await createWorkspace(db, { id: 'written-while-open' });
      const before = readdirSync(dataDir).sort();

      const second = await start([CLI, 'serve', '--data-dir', dataDir, '--config', config, '--port', '0']).exited;
      expect(second.code, `serve should fail; it printed:\n${second.stdout}${second.stderr}`).not.toBe(0);
      expect(second.signal).toBeNull();
      expect(second.stderr).toContain(`in use by process ${process.pid}`);
      expect(second.stderr).toContain(pgdata);
      expect(second.stdout).not.toContain('Switchyard is up');
      // It got no further than the lock: no admin token, no server file.
      expect(readdirSync(dataDir).sort()).toEqual(before);

      // This process still works on its data, and its writes are all there after a close and re-open.
      await createWorkspace(db, { id: 'written-after-refusal' });
      await closeEmbedded(db);
      closed = true;
      const again = await openEmbedded(pgdata);
      try {
        expect((await listWorkspaces(again)).map((w) => w.id)).toEqual(['first-process', 'written-after-refusal', 'written-while-open']);
        expect((await again.query(`SELECT count(*)::int AS n FROM api_tokens`)).rows[0]?.n).toBe(0);
      } finally {
        await closeEmbedded(again);
      }
    } finally {
      if (!closed) await closeEmbedded(db);
    }
  });

  it('refuses a second opener in another process with DataDirLockedError, then lets it in once the first has closed', async () => {
    const { pgdata } = await folderWithData('shared');
    const db = await openEmbedded(pgdata);
    const refused = await opener(pgdata, `return 'opened';`).exited;
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('DataDirLockedError');
    expect(refused.stderr).toContain(`in use by process ${process.pid}`);
    await closeEmbedded(db);
    expect(existsSync(join(pgdata, 'switchyard.lock')), 'the lock goes with the close').toBe(false);

    // Now the other process gets in, reads what this one wrote, and adds its own.
    const admitted = await opener(pgdata, `await createWorkspace(db, { id: 'from-second-process' }); return (await listWorkspaces(db)).map((w) => w.id);`).exited;
    expect(admitted.stderr).toBe('');
    expect(admitted.code).toBe(0);
    expect(JSON.parse(admitted.stdout)).toEqual(['from-second-process', 'shared']);
    const back = await openEmbedded(pgdata);
    try {
      expect((await listWorkspaces(back)).map((w) => w.id)).toEqual(['from-second-process', 'shared']);
    } finally {
      await closeEmbedded(back);
    }
  });

  it('refuses a second open within the same process too', async () => {
    const { pgdata } = await folderWithData('same-process');
    const db = await openEmbedded(pgdata);
    try {
      const err = await openStore({ kind: 'pglite', dataDir: pgdata }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirLockedError);
      expect(err).toMatchObject({ pid: process.pid, dataDir: pgdata, code: 'data_dir_locked' });
      expect((await listWorkspaces(db)).map((w) => w.id)).toEqual(['same-process']);
    } finally {
      await closeEmbedded(db);
    }
  });

  it('takes over a lock left by a process that is gone', async () => {
    const { pgdata } = await folderWithData('stale');
    const lock = join(pgdata, 'switchyard.lock');
    writeFileSync(lock, `${await deadPid()}\n`);
    const db = await openEmbedded(pgdata);
    try {
      expect(readFileSync(lock, 'utf8').trim()).toBe(String(process.pid));
      expect((await listWorkspaces(db)).map((w) => w.id)).toEqual(['stale']);
    } finally {
      await closeEmbedded(db);
    }
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over a half-written lock file', async () => {
    const { pgdata } = await folderWithData('half-written');
    writeFileSync(join(pgdata, 'switchyard.lock'), '');
    const db = await openEmbedded(pgdata);
    await closeEmbedded(db);
  });

  it('lets the next process in after the holder was killed with SIGKILL, with the holder’s committed data intact', async () => {
    const { pgdata } = await folderWithData('before-crash');
    const holder = opener(pgdata, `await createWorkspace(db, { id: 'committed-before-kill' }); process.stdout.write('ready\\n'); await new Promise(() => {});`);
    await until(() => holder.output().includes('ready'), `the holder to write and wait (output: ${holder.output()})`, 20_000);
    expect(readFileSync(join(pgdata, 'switchyard.lock'), 'utf8').trim()).toBe(String(holder.pid));
    process.kill(holder.pid, 'SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');

    const next = await opener(pgdata, `return (await listWorkspaces(db)).map((w) => w.id);`).exited;
    expect(next.stderr).toBe('');
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toEqual(['before-crash', 'committed-before-kill']);
  });
});

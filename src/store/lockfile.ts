/**
 * An exclusive lock on the embedded database's folder. PGlite itself does not
 * refuse a second process opening the same folder; both would write and one
 * would silently lose its changes. The lock file holds the owner's pid, so a
 * second process can say who holds it, and a lock left by a dead process is
 * taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SwitchyardError } from '../core/errors.js';

export class DataDirLockedError extends SwitchyardError {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      'data_dir_locked',
      `the data folder ${dataDir} is in use by process ${pid} (another switchyard up/serve?). ` +
        `Stop that process, or start this one with another --data-dir, or point DATABASE_URL at a PostgreSQL server.`,
    );
  }
}

export interface DirLock {
  readonly path: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function lockDataDir(dataDir: string): DirLock {
  const path = join(dataDir, 'switchyard.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readOwner(path);
      if (owner !== undefined && (owner === process.pid || isAlive(owner))) throw new DataDirLockedError(dataDir, owner);
      // Stale (its process is gone) or half-written: take it over.
      try {
        unlinkSync(path);
      } catch {
        // Another process removed it first; the next round decides who gets it.
      }
      continue;
    }
    // Two processes taking over the same stale lock at once: only the one
    // whose pid is in the file may proceed.
    if (readOwner(path) !== process.pid) continue;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      try {
        if (readOwner(path) === process.pid) unlinkSync(path);
      } catch {
        // Already gone.
      }
    };
    process.on('exit', release);
    return { path, release };
  }
  const owner = readOwner(path);
  throw new DataDirLockedError(dataDir, owner ?? -1);
}

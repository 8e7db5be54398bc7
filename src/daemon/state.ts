/**
 * The daemon's own folder: its id (which survives restarts), the outbox,
 * the runs' working directories, and the process groups it started (so a
 * restarted daemon can stop the ones its predecessor left behind).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OrphanGuard } from './orphanGuard.js';

export function daemonId(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, 'daemon-id');
  try {
    const id = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return id;
  } catch {
    // First start.
  }
  const id = randomUUID();
  writeFileSync(path, `${id}\n`);
  return id;
}

/**
 * Process groups of live runs, persisted so a restarted daemon can stop
 * them, and told to the orphan guard so they are stopped at once if this
 * daemon dies: one record, two ways of acting on it.
 */
export class GroupLedger {
  private readonly path: string;
  private readonly groups = new Set<number>();
  private readonly guard: OrphanGuard;

  constructor(stateDir: string, killGraceMs: number) {
    this.path = join(stateDir, 'process-groups.json');
    this.guard = new OrphanGuard(killGraceMs);
  }

  /**
   * Stops every group a previous process of this daemon left running (answers
   * how many there were), then starts the guard over this process's groups.
   */
  open(): number {
    const reaped = this.reapLeftovers();
    this.guard.start();
    return reaped;
  }

  private reapLeftovers(): number {
    let left: number[];
    try {
      left = JSON.parse(readFileSync(this.path, 'utf8')) as number[];
    } catch {
      return 0;
    }
    let n = 0;
    for (const pgid of left) {
      try {
        process.kill(-pgid, 'SIGKILL');
        n++;
      } catch {
        // Already gone.
      }
    }
    this.save();
    return n;
  }

  add(pgid: number): void {
    this.groups.add(pgid);
    this.guard.add(pgid);
    this.save();
  }

  remove(pgid: number): void {
    this.groups.delete(pgid);
    this.guard.remove(pgid);
    this.save();
  }

  /** A clean stop: the guard exits (stopping whatever is still listed). */
  close(): void {
    this.guard.close();
  }

  private save(): void {
    writeFileSync(this.path, JSON.stringify([...this.groups]));
  }
}

export function runDir(stateDir: string, workspaceId: string, taskId: string): string {
  return join(stateDir, 'runs', workspaceId, taskId);
}

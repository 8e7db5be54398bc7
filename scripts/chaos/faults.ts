/**
 * The fault injector: while the work runs, SIGKILLs random daemons and
 * starts them again after a random pause (same state directory, so their
 * outbox is resent), and restarts one server (SIGKILL, then a new process on
 * the same port). Some pauses are shorter than the lease (the daemon comes
 * back while its runs are still its own), some longer (the reaper gives them
 * to others first), so both recovery paths are taken.
 */
import { join } from 'node:path';
import type { Cluster, DaemonProc } from './cluster.js';

export interface FaultOptions {
  /** At most this many daemon kills. */
  daemonKills: number;
  /** Pause between two kills, ms (uniform in the range). */
  killGapMs: [number, number];
  /** How long a killed daemon stays down, ms: the ranges are taken in turn, kill after kill. */
  downMs: [number, number][];
  /** The server restart happens once this share of the tasks is terminal (> 1: never). */
  serverRestartAt: number;
  serverDownMs: number;
  /** No new fault once this share of the tasks is terminal. */
  stopAt: number;
}

export interface FaultEvent {
  atMs: number;
  what: 'daemon SIGKILL' | 'daemon restart' | 'server SIGKILL' | 'server restart';
  target: string;
  note?: string;
}

export class FaultInjector {
  readonly events: FaultEvent[] = [];
  kills = 0;
  serverRestarts = 0;
  /** Outbox copies taken right after each kill: [daemon, folder]. */
  readonly snapshots: { daemon: string; dir: string }[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly restarts = new Set<Promise<void>>();
  private readonly down = new Set<DaemonProc>();

  constructor(
    private readonly cluster: Cluster,
    private readonly o: FaultOptions,
    private readonly random: () => number,
    private readonly t0: number,
    private readonly snapshotDir: string,
    private readonly say: (line: string) => void,
  ) {}

  start(progress: () => number): void {
    this.loop = this.run(progress);
  }

  /** Stops injecting, waits for the restarts under way, and makes sure every process is up again. */
  async finish(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all([...this.restarts]);
    for (const s of this.cluster.servers) if (!s.running) await this.cluster.startServer(s);
    for (const d of this.cluster.daemons) if (!d.running) await this.cluster.startDaemon(d);
  }

  private note(what: FaultEvent['what'], target: string, note?: string): void {
    const e: FaultEvent = { atMs: Date.now() - this.t0, what, target, ...(note ? { note } : {}) };
    this.events.push(e);
    this.say(`${what} ${target}${note ? ` (${note})` : ''}`);
  }

  private between([lo, hi]: [number, number]): number {
    return Math.round(lo + this.random() * (hi - lo));
  }

  private async run(progress: () => number): Promise<void> {
    let nextKill = Date.now() + this.between(this.o.killGapMs);
    while (!this.stopped) {
      await new Promise((r) => setTimeout(r, 200));
      if (this.stopped) break;
      const p = progress();
      if (this.serverRestarts === 0 && p >= this.o.serverRestartAt) await this.restartServer();
      if (this.kills < this.o.daemonKills && p < this.o.stopAt && Date.now() >= nextKill) {
        const candidates = this.cluster.daemons.filter((d) => d.running && !this.down.has(d));
        // Always leave one daemon running, so the work goes on.
        if (candidates.length > 1) await this.killDaemon(candidates[Math.floor(this.random() * candidates.length)]!);
        nextKill = Date.now() + this.between(this.o.killGapMs);
      }
    }
  }

  private async killDaemon(d: DaemonProc): Promise<void> {
    this.kills++;
    this.down.add(d);
    await d.kill('SIGKILL');
    const downMs = this.between(this.o.downMs[(this.kills - 1) % this.o.downMs.length]!);
    const dir = join(this.snapshotDir, `${d.name}.${this.kills}`);
    if (this.cluster.snapshotOutbox(d, dir)) this.snapshots.push({ daemon: d.name, dir });
    this.note('daemon SIGKILL', d.name, `down for ${(downMs / 1000).toFixed(1)} s`);
    const restart = new Promise<void>((r) => setTimeout(r, downMs))
      .then(async () => {
        // Not waiting for its connection: its server may be restarting.
        await this.cluster.startDaemon(d, false);
        this.note('daemon restart', d.name);
      })
      .finally(() => {
        this.down.delete(d);
        this.restarts.delete(restart);
      });
    this.restarts.add(restart);
  }

  private async restartServer(): Promise<void> {
    this.serverRestarts++;
    const s = this.cluster.servers[0]!;
    await s.kill('SIGKILL');
    this.note('server SIGKILL', s.name, `down for ${(this.o.serverDownMs / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, this.o.serverDownMs));
    const started = Date.now();
    await this.cluster.startServer(s);
    this.note('server restart', s.name, `ready ${((Date.now() - started) / 1000).toFixed(1)} s after its start`);
  }
}

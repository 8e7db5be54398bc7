/**
 * The processes of a chaos run: a database of its own, two `switchyard
 * serve` and N `switchyard daemon` processes (the built CLI, real sockets on
 * 127.0.0.1), each with a log file, each killable and restartable. Nothing
 * here decides when to kill; that is the fault injector's job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { stringify } from 'yaml';
import { migrate } from '../../src/store/migrate.js';
import { openStore } from '../../src/store/open.js';
import { createToken } from '../../src/store/tokens.js';

export interface ChaosDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A database of its own on the server `base` points at, migrated, dropped by `drop()`. */
export async function createChaosDatabase(base: string): Promise<ChaosDatabase> {
  const name = `sy_chaos_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Migrations and the two tokens, before any server starts (the servers migrate too; it is a no-op then). */
export async function prepareDatabase(url: string): Promise<{ adminToken: string; daemonToken: string }> {
  const db = await openStore({ kind: 'postgres', connection: { connectionString: url, max: 2 }, describe: 'chaos' });
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS vector');
    await migrate(db);
    const adminToken = (await createToken(db, { role: 'admin', name: 'chaos', workspaceId: null })).token;
    const daemonToken = (await createToken(db, { role: 'daemon', name: 'chaos', workspaceId: null })).token;
    return { adminToken, daemonToken };
  } finally {
    await db.close();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ChaosTimings {
  /** Lease of claims and runs (the server's run lease is max(lease, 3 × heartbeat)). */
  leaseMs: number;
  heartbeatMs: number;
}

/** One configuration file for servers and daemons: the fake agent as a command agent that keeps a ledger. */
export function writeConfig(dir: string, fakeAgent: string, ledgerDir: string, t: ChaosTimings): string {
  const path = join(dir, 'chaos.yaml');
  const cfg = {
    orchestrator: {
      // Hash embeddings: skill indexing of a thousand completed tasks is not what this suite measures,
      // and the local model's CPU cost on a small machine would only slow every server down.
      workspace: { id: 'chaos', max_concurrent: 64, embedding: { provider: 'hash' } },
      runtime: {
        health_check_interval: '1s',
        lease: `${t.leaseMs}ms`,
        kill_grace: '1s',
        final_grace: '2s',
        idle_timeout: '60s',
        wall_timeout: '120s',
        agent_check_interval: '1h',
        max_concurrent: 4,
        // Two shared cores: the machine's load must not throttle the daemons.
        cpu_threshold: 64,
        memory_threshold_mb: 16384,
        retry_backoff_base: '200ms',
        retry_backoff_cap: '2s',
      },
      streaming: { heartbeat_interval: `${t.heartbeatMs}ms` },
      agents: [{ name: 'fake', binary: fakeAgent, args: ['{prompt}'], version_args: ['--version'], env: { FAKE_AGENT_LEDGER: ledgerDir } }],
    },
  };
  writeFileSync(path, stringify(cfg));
  return path;
}

/** A child process that can be killed and started again with the same arguments. */
export class Managed {
  proc: ChildProcess | undefined;
  starts = 0;
  private log: WriteStream;
  private tail = '';

  constructor(
    readonly name: string,
    private readonly argv: string[],
    private readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): void {
    this.starts++;
    this.tail = '';
    this.log.write(`\n=== start ${this.starts} at ${new Date().toISOString()}\n`);
    const p = spawn(process.execPath, this.argv, { stdio: ['ignore', 'pipe', 'pipe'], env: this.env });
    const take = (c: Buffer) => {
      this.log.write(c);
      this.tail = (this.tail + c.toString()).slice(-20_000);
    };
    p.stdout!.on('data', take);
    p.stderr!.on('data', take);
    this.proc = p;
  }

  output(): string {
    return this.tail;
  }

  /** Sends `signal` and waits for the process to be gone. */
  async kill(signal: NodeJS.Signals, timeoutMs = 10_000): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    if ((await Promise.race([gone, timer])) === 'timeout') {
      p.kill('SIGKILL');
      await gone;
    }
  }

  async waitFor(what: string, test: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await test()) return;
      if (!this.running) throw new Error(`${this.name} exited while waiting for ${what}:\n${this.tail.slice(-2000)}`);
      if (Date.now() > until) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms:\n${this.tail.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    this.log.end();
  }
}

export class ServerProc extends Managed {
  readonly url: string;

  constructor(name: string, argv: string[], env: NodeJS.ProcessEnv, logFile: string, readonly port: number) {
    super(name, argv, env, logFile);
    this.url = `http://127.0.0.1:${port}`;
  }
}

export class DaemonProc extends Managed {
  constructor(name: string, argv: string[], env: NodeJS.ProcessEnv, logFile: string, readonly stateDir: string, readonly serverUrl: string) {
    super(name, argv, env, logFile);
  }
}

export interface ClusterOptions {
  cli: string;
  dir: string;
  databaseUrl: string;
  configPath: string;
  daemonToken: string;
  servers: number;
  daemons: number;
}

export class Cluster {
  readonly servers: ServerProc[] = [];
  readonly daemons: DaemonProc[] = [];

  constructor(private readonly o: ClusterOptions) {}

  async start(): Promise<void> {
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_LOG_FORMAT: 'json', SWITCHYARD_LOG_LEVEL: 'info' };
    for (let i = 0; i < this.o.servers; i++) {
      const name = `server-${String.fromCharCode(65 + i)}`;
      const port = await freePort();
      const dataDir = join(this.o.dir, name);
      mkdirSync(dataDir, { recursive: true });
      const argv = [this.o.cli, 'serve', '--config', this.o.configPath, '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1'];
      this.servers.push(new ServerProc(name, argv, { ...baseEnv, DATABASE_URL: this.o.databaseUrl }, join(this.o.dir, `${name}.log`), port));
    }
    await Promise.all(this.servers.map((s) => this.startServer(s)));
    // Daemons never see the database: only their server's URL and their token.
    const { DATABASE_URL: _omit, ...daemonEnv } = baseEnv;
    for (let i = 0; i < this.o.daemons; i++) {
      const name = `daemon-${i + 1}`;
      const server = this.servers[i % this.servers.length]!;
      const stateDir = join(this.o.dir, name);
      const argv = [this.o.cli, 'daemon', '--url', server.url, '--token', this.o.daemonToken, '--config', this.o.configPath, '--state-dir', stateDir, '--name', name];
      this.daemons.push(new DaemonProc(name, argv, daemonEnv, join(this.o.dir, `${name}.log`), stateDir, server.url));
    }
    await Promise.all(this.daemons.map((d) => this.startDaemon(d)));
  }

  async startServer(s: ServerProc): Promise<void> {
    s.start();
    await s.waitFor('/readyz', async () => {
      try {
        return (await fetch(`${s.url}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
      } catch {
        return false;
      }
    }, 60_000);
  }

  /** Resolves once the daemon says it is connected (a restarted one may wait for its server). */
  async startDaemon(d: DaemonProc, waitConnected = true): Promise<void> {
    d.start();
    if (waitConnected) await d.waitFor('a connection to its server', () => d.output().includes('"connected to server"'), 60_000);
  }

  /** Copies what a (dead) daemon left in its outbox, to compare with what was stored later. */
  snapshotOutbox(d: DaemonProc, to: string): boolean {
    const from = join(d.stateDir, 'outbox');
    if (!existsSync(from)) return false;
    cpSync(from, to, { recursive: true });
    return true;
  }

  async stop(): Promise<void> {
    // Daemons first, politely (their runs end as lost), then the servers.
    await Promise.all(this.daemons.map((d) => d.kill('SIGTERM', 10_000)));
    await Promise.all(this.servers.map((s) => s.kill('SIGTERM', 10_000)));
    for (const m of [...this.daemons, ...this.servers]) m.close();
  }

  /** Last resort on an error path: nothing of ours may outlive the script. */
  killAll(): void {
    for (const m of [...this.daemons, ...this.servers]) {
      if (m.running) m.proc?.kill('SIGKILL');
      m.close();
    }
  }
}

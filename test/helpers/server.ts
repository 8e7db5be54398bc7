/**
 * A real server on 127.0.0.1 (random port) over a fresh test database, with
 * an instance admin token and helpers to make workspaces and their tokens.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { SwitchyardClient } from '../../src/client/index.js';
import type { Orchestrator } from '../../src/core/config/index.js';
import { applyWorkspaceConfig } from '../../src/server/bootstrap.js';
import { createServer, type Server, type ServerOptions } from '../../src/server/index.js';
import { ensureAuditPartitions, ensureEventPartitions } from '../../src/store/partitions.js';
import { createToken, type Role } from '../../src/store/tokens.js';
import { createWorkspace } from '../../src/store/workspaces.js';
import type { CreateWorkspaceBody } from '../../src/core/api.js';
import { testConfig, type TestConfigInput } from './config.js';
import { createTestDb, type TestDb } from './db.js';
import { track, untrack } from './leaks.js';

/** The local model's converted word vectors, shared by every test run on this machine (converted once, ~5 s). */
export const TEST_MODEL_DIR = join(tmpdir(), 'switchyard-test-models');
const TEST_SKILLS = { defaultEmbedding: { provider: 'hash' as const }, modelDir: TEST_MODEL_DIR, jobPollMs: 100, jobBackoff: { baseMs: 50, capMs: 400 }, openaiRetryBaseMs: 20 };

export const testLog = pino({ level: process.env.SWITCHYARD_TEST_LOG ?? 'silent' });

export interface WorkspaceHandle {
  id: string;
  tokens: Record<'admin' | 'member' | 'viewer' | 'daemon', string>;
  client(role?: 'admin' | 'member' | 'viewer'): SwitchyardClient;
}

export interface TestServer {
  url: string;
  db: TestDb;
  server: Server;
  config: Orchestrator;
  adminToken: string;
  /** Instance admin client. */
  admin: SwitchyardClient;
  /** An instance-wide daemon token (serves every workspace). */
  daemonToken: string;
  workspace(id: string, fields?: Omit<CreateWorkspaceBody, 'id'>): Promise<WorkspaceHandle>;
  token(role: Role, workspaceId: string | null, daemonWorkspaces?: string[] | null): Promise<string>;
  /** Stops the server (not the database) and starts a new one on the same port. */
  restart(): Promise<void>;
  /** Stops the server only. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestServer(
  opts: {
    config?: TestConfigInput;
    db?: TestDb;
    port?: number;
    serverId?: string;
    /** Extra route plugins, kept across restart() (the dashboard's static files for browser tests). */
    plugins?: ServerOptions['plugins'];
    /** Skill library options; by default the deterministic `hash` provider and short retry delays. */
    skills?: ServerOptions['skills'];
    /** The server's logger (default: testLog, silent unless SWITCHYARD_TEST_LOG); the fuzz suite passes one that records errors. */
    log?: ServerOptions['log'];
  } = {},
): Promise<TestServer> {
  const config = testConfig(opts.config);
  const archiveDir = mkdtempSync(join(tmpdir(), 'sy-archive-'));
  const ownDb = !opts.db;
  const db = opts.db ?? (await createTestDb());
  if (ownDb) track(db, 'test database');
  await ensureEventPartitions(db);
  await ensureAuditPartitions(db);
  const defaultWorkspace = await applyWorkspaceConfig(db, config);
  const mk = async (role: Role, workspaceId: string | null, daemonWorkspaces: string[] | null = null) =>
    (await createToken(db, { role, name: `test ${role}`, workspaceId, daemonWorkspaces })).token;
  const adminToken = await mk('admin', null);
  const daemonToken = await mk('daemon', null);
  let port = opts.port ?? 0;
  let server!: Server;
  let url = '';
  let running = false;
  const start = async () => {
    server = await createServer({ db, config, log: opts.log ?? testLog, version: 'test', defaultWorkspace, reaperIntervalMs: 200, ...(opts.serverId ? { serverId: opts.serverId } : {}), ...(opts.plugins ? { plugins: opts.plugins } : {}), skills: { ...TEST_SKILLS, archiveDir: archiveDir, ...opts.skills } });
    url = await server.listen(port, '127.0.0.1');
    port = Number(new URL(url).port);
    running = true;
    track(server, `server at ${url}`);
  };
  const stop = async () => {
    if (!running) return;
    running = false;
    await server.close();
    untrack(server);
  };
  await start();
  const handle: TestServer = {
    get url() {
      return url;
    },
    db,
    get server() {
      return server;
    },
    config,
    adminToken,
    get admin() {
      return new SwitchyardClient({ url, token: adminToken });
    },
    daemonToken,
    async workspace(id, fields = {}) {
      await createWorkspace(db, { id, ...fields });
      const tokens = {
        admin: await mk('admin', id),
        member: await mk('member', id),
        viewer: await mk('viewer', id),
        daemon: await mk('daemon', id, [id]),
      };
      return { id, tokens, client: (role = 'member') => new SwitchyardClient({ url, token: tokens[role] }) };
    },
    token: (role, ws, dws) => mk(role, ws, dws ?? null),
    async restart() {
      await stop();
      await start();
    },
    stop,
    async close() {
      await stop();
      if (ownDb) {
        await db.close();
        untrack(db);
      }
    },
  } as TestServer;
  return handle;
}

/**
 * Starting the product on this machine: the database (embedded or
 * PostgreSQL), migrations, the configured workspace, the admin token, the
 * server, and — for `up` — a local daemon connected to it.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Orchestrator } from '../core/config/index.js';
import { startDaemon, type DaemonHandle } from '../daemon/index.js';
import { applyWorkspaceConfig, ensureTokenFile } from '../server/bootstrap.js';
import { createServer, type Server } from '../server/index.js';
import type { Db } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { openStore, storeOptionsFromConfig } from '../store/open.js';
import { ensureAuditPartitions, ensureEventPartitions } from '../store/partitions.js';
import { serverFilePath } from './connect.js';
import { VERSION } from './version.js';

export interface StackOptions {
  config: Orchestrator;
  dataDir: string;
  log: Logger;
  withDaemon: boolean;
  port?: number;
  host?: string;
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
}

export interface Stack {
  url: string;
  adminToken: string;
  adminTokenCreated: boolean;
  dataDir: string;
  database: string;
  db: Db;
  server: Server;
  daemon: DaemonHandle | undefined;
  defaultWorkspace: string;
  stop(): Promise<void>;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  mkdirSync(o.dataDir, { recursive: true });
  const storeOptions = storeOptionsFromConfig(o.config, o.dataDir);
  const db = await openStore(storeOptions);
  let server: Server | undefined;
  let daemon: DaemonHandle | undefined;
  try {
    const applied = await migrate(db);
    if (applied.length > 0) o.log.info({ applied }, 'migrations applied');
    await ensureEventPartitions(db);
    await ensureAuditPartitions(db);
    const defaultWorkspace = await applyWorkspaceConfig(db, o.config);
    const admin = await ensureTokenFile(db, join(o.dataDir, 'admin-token'), { role: 'admin', name: 'admin (created by switchyard)' });
    server = await createServer({ db, config: o.config, log: o.log, version: VERSION, defaultWorkspace, plugins: o.plugins, dataDir: o.dataDir });
    const url = await server.listen(o.port, o.host);
    writeFileSync(serverFilePath(o.dataDir), JSON.stringify({ url, pid: process.pid, startedAt: new Date().toISOString() }, null, 2));
    if (o.withDaemon) {
      const daemonToken = await ensureTokenFile(db, join(o.dataDir, 'daemon-token'), { role: 'daemon', name: 'local daemon (switchyard up)' });
      daemon = await startDaemon({ url, token: daemonToken.token, config: o.config, stateDir: join(o.dataDir, 'daemon'), log: o.log.child({ role: 'daemon' }), version: VERSION });
    }
    const s = server;
    const d = daemon;
    let stopped: Promise<void> | undefined;
    return {
      url,
      adminToken: admin.token,
      adminTokenCreated: admin.created,
      dataDir: o.dataDir,
      database: storeOptions.kind === 'pglite' ? `embedded PGlite in ${storeOptions.dataDir}` : `PostgreSQL at ${storeOptions.describe}`,
      db,
      server: s,
      daemon: d,
      defaultWorkspace,
      stop() {
        stopped ??= (async () => {
          await d?.stop().catch((err: unknown) => o.log.warn({ err }, 'daemon stop failed'));
          await s.close().catch((err: unknown) => o.log.warn({ err }, 'server close failed'));
          rmSync(serverFilePath(o.dataDir), { force: true });
          await db.close();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await daemon?.stop().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw err;
  }
}

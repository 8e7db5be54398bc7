/**
 * Opens the database the configuration asks for: a PostgreSQL server when
 * DATABASE_URL or an `orchestrator.database` block is given, otherwise the
 * embedded PGlite in `<data dir>/pgdata`, locked against a second process.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { vector } from '@electric-sql/pglite-pgvector';
import pg from 'pg';
import type { Orchestrator } from '../core/config/index.js';
import { SwitchyardError, coerceError } from '../core/errors.js';
import { createPoolDb, type Db } from './db.js';
import { lockDataDir } from './lockfile.js';
import { readSeed } from './seed.js';

export interface PgliteOptions {
  kind: 'pglite';
  /** Folder of the embedded database; undefined keeps it in memory (tests). */
  dataDir?: string;
  /** A `dumpDataDir()` tarball to start from (tests load a migrated snapshot). */
  loadDataDir?: Blob;
}

export interface PostgresOptions {
  kind: 'postgres';
  connection: pg.PoolConfig;
  /** How to name the server in messages, without the password. */
  describe: string;
}

export type StoreOptions = PgliteOptions | PostgresOptions;

export class DatabaseUnavailableError extends SwitchyardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('database_unavailable', message, options);
  }
}

/** Decides from the configuration which database to open. */
export function storeOptionsFromConfig(config: Orchestrator, dataDir: string): StoreOptions {
  const db = config.database;
  if (db?.url) {
    const url = new URL(db.url);
    return {
      kind: 'postgres',
      connection: { connectionString: db.url, max: db.pool_size, statement_timeout: db.statement_timeout },
      describe: `${url.hostname}:${url.port || 5432}${url.pathname}`,
    };
  }
  if (db) {
    return {
      kind: 'postgres',
      connection: {
        host: db.host,
        port: db.port,
        database: db.name,
        user: db.user ?? process.env.PGUSER,
        password: db.password ?? process.env.PGPASSWORD,
        max: db.pool_size,
        statement_timeout: db.statement_timeout,
      },
      describe: `${db.host}:${db.port}/${db.name}`,
    };
  }
  return { kind: 'pglite', dataDir: join(dataDir, 'pgdata') };
}

export async function openStore(options: StoreOptions): Promise<Db> {
  return options.kind === 'pglite' ? openPglite(options) : openPostgres(options);
}

async function openPglite(options: PgliteOptions): Promise<Db> {
  let lock: ReturnType<typeof lockDataDir> | undefined;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    lock = lockDataDir(options.dataDir);
  }
  try {
    // A new folder starts from the build's seed (initdb in WASM costs ~3 s).
    const fresh = options.dataDir !== undefined && !existsSync(join(options.dataDir, 'PG_VERSION'));
    const load = options.loadDataDir ?? (fresh ? readSeed() : undefined);
    const pglite = new PGlite(options.dataDir ?? 'memory://', {
      extensions: { vector },
      ...(load ? { loadDataDir: load } : {}),
    });
    await pglite.waitReady;
    // One client: PGlite runs one transaction at a time (see db.ts).
    const pool = new pg.Pool({ ...createPgConfig(pglite), max: 1 });
    const db = createPoolDb('pglite', pool, async () => {
      await pglite.close();
      lock?.release();
    });
    // Through the pool, so no statement of ours is running during the dump.
    db.dumpEmbedded = (compression = 'none') => db.withConnection(() => pglite.dumpDataDir(compression));
    return db;
  } catch (err) {
    lock?.release();
    throw err;
  }
}

async function openPostgres(options: PostgresOptions): Promise<Db> {
  const pool = new pg.Pool({ connectionTimeoutMillis: 5_000, ...options.connection });
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    const reason = coerceError(err).message || String(err);
    throw new DatabaseUnavailableError(
      `cannot reach PostgreSQL at ${options.describe} (${reason}). Start PostgreSQL there, or fix DATABASE_URL / orchestrator.database; ` +
        `to use the embedded database instead, unset DATABASE_URL and remove the orchestrator.database block.`,
      { cause: err },
    );
  }
  const { max: _max, ...single } = options.connection;
  return createPoolDb('postgres', pool, async () => {}, single as pg.ClientConfig);
}

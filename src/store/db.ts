/**
 * One data-access layer for both databases: everything goes through a
 * node-postgres `Pool`. With PostgreSQL it is an ordinary pool on
 * DATABASE_URL; with the embedded PGlite it is a pool of exactly one client
 * whose connection is PGlite's in-process bridge (`createPgConfig`), since
 * PGlite runs one transaction at a time and a second client would interleave
 * statements inside the first one's transaction.
 */
import pg from 'pg';
import { coerceError } from '../core/errors.js';

// COUNT(*) and bigserial come back as int8; every such value here fits in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export type Row = Record<string, unknown>;

export interface Queryable {
  query<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

export type DbKind = 'pglite' | 'postgres';

export interface Db extends Queryable {
  readonly kind: DbKind;
  /** Runs `fn` in one transaction, retried on serialization failures and deadlocks. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` on one reserved connection (for session-level state such as advisory locks). */
  withConnection<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** The embedded database's files as a tarball (PGlite only): backups and test snapshots. */
  dumpEmbedded?(compression?: 'none' | 'gzip'): Promise<Blob>;
  /** A dedicated connection (PostgreSQL only) for LISTEN; undefined on PGlite. */
  connectListener(): Promise<pg.Client | undefined>;
  close(): Promise<void>;
}

/** PostgreSQL error codes this code reacts to. */
export const PgCode = {
  uniqueViolation: '23505',
  checkViolation: '23514',
  foreignKeyViolation: '23503',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  lockNotAvailable: '55P03',
  undefinedTable: '42P01',
  duplicateObject: '42710',
  duplicateTable: '42P07',
  invalidTextRepresentation: '22P02',
  queryCanceled: '57014',
} as const;

export function pgErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

const RETRYABLE = new Set<string>([PgCode.serializationFailure, PgCode.deadlockDetected]);
const MAX_TX_ATTEMPTS = 5;

export function createPoolDb(kind: DbKind, pool: pg.Pool, onClose: () => Promise<void> = async () => {}, listenerConfig?: pg.ClientConfig): Db {
  // The pool emits errors from idle clients (e.g. the server restarted); the
  // next query reconnects, so logging here is the caller's job, not a crash.
  pool.on('error', () => {});
  const withConnection = async <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await fn(client as unknown as Queryable);
    } finally {
      client.release();
    }
  };
  return {
    kind,
    // pg-pool's own query() destroys the client after any SQL error. On PGlite
    // the replacement client shares the bridge's one connection, which still
    // holds the failed statement's remaining replies, so the next statements
    // fail or read stale replies. A checked-out client released normally reads
    // those replies itself and stays in step (test/store/workspaces.test.ts).
    query: kind === 'pglite' ? (text, params) => withConnection((c) => c.query(text, params)) : (text, params) => pool.query(text, params as unknown[] | undefined),
    async tx(fn) {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        let broken: Error | undefined;
        try {
          await client.query('BEGIN');
          const result = await fn(client as unknown as Queryable);
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK').catch((e: unknown) => {
            broken = coerceError(e);
          });
          const code = pgErrorCode(err);
          if (code && RETRYABLE.has(code) && attempt < MAX_TX_ATTEMPTS) {
            await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
            continue;
          }
          throw err;
        } finally {
          // A client whose ROLLBACK failed is in an unknown state: destroy it rather than reuse it.
          client.release(broken);
        }
      }
    },
    withConnection,
    async connectListener() {
      if (kind === 'pglite' || !listenerConfig) return undefined;
      const client = new pg.Client(listenerConfig);
      client.on('error', () => {});
      await client.connect();
      return client;
    },
    async close() {
      await pool.end();
      await onClose();
    },
  };
}

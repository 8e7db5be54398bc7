/**
 * Applies the numbered SQL files in `migrations/` that have not run yet,
 * each in its own transaction, under a session advisory lock so two servers
 * starting together do not both migrate. Applied files are recorded in
 * `switchyard_migrations`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db, Queryable } from './db.js';

// src/store and dist/store both sit two levels below the package root.
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const LOCK_KEY = 727_274_001;

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ id: Number.parseInt(f.slice(0, 4), 10), name: f, sql: readFileSync(`${dir}/${f}`, 'utf8') }));
}

export async function migrate(db: Db, migrations = loadMigrations()): Promise<string[]> {
  // One reserved connection: the advisory lock is per session, and each file
  // runs in its own transaction on that same session.
  return db.withConnection(async (c) => {
    await c.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await c.query(`CREATE TABLE IF NOT EXISTS switchyard_migrations (
        id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = await appliedIds(c);
      const applied: string[] = [];
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        await c.query('BEGIN');
        try {
          await c.query(m.sql);
          await c.query('INSERT INTO switchyard_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK');
          throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(m.name);
      }
      return applied;
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  });
}

async function appliedIds(q: Queryable): Promise<Set<number>> {
  return new Set((await q.query<{ id: number }>('SELECT id FROM switchyard_migrations')).rows.map((r) => r.id));
}

export async function pendingMigrations(db: Db, migrations = loadMigrations()): Promise<string[]> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('switchyard_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return migrations.map((m) => m.name);
  const done = await appliedIds(db);
  return migrations.filter((m) => !done.has(m.id)).map((m) => m.name);
}

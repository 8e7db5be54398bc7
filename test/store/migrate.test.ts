/**
 * Migrations: numbered SQL files, each applied once in its own transaction
 * under an advisory lock, recorded in switchyard_migrations. Running them
 * again is a no-op, and two servers starting together both come up.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { loadMigrations, migrate, pendingMigrations, type Migration } from '../../src/store/migrate.js';
import { openStore } from '../../src/store/open.js';
import { tempDir } from '../helpers/daemon.js';
import { createTestDb, dbKind, type TestDb } from '../helpers/db.js';
import { track, untrack } from '../helpers/leaks.js';

const ALL = loadMigrations().map((m) => m.name);

let migrated: TestDb;
beforeAll(async () => {
  migrated = await createTestDb();
  track(migrated, 'test database');
});
afterAll(async () => {
  await migrated?.close();
  untrack(migrated);
});

interface Empty {
  /** Connections to the same empty database; more than one on PostgreSQL means more than one "server". */
  open(): Promise<Db>;
  close(): Promise<void>;
}

/**
 * A database with nothing in it: an in-memory PGlite, or a new PostgreSQL
 * database (named after the run's template, so the run's teardown drops it
 * even if this file crashes).
 */
async function emptyDatabase(): Promise<Empty> {
  const opened: Db[] = [];
  const keep = (db: Db) => {
    opened.push(db);
    track(db, 'empty database');
    return db;
  };
  if (dbKind() === 'pglite') {
    const db = keep(await openStore({ kind: 'pglite' }));
    return {
      open: async () => db,
      async close() {
        await db.close();
        untrack(db);
      },
    };
  }
  const url = process.env.DATABASE_URL!;
  const name = `${inject('pgTemplate')}_empty_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    open: async () => keep(await openStore({ kind: 'postgres', connection: { connectionString: u.toString(), max: 4 }, describe: name })),
    async close() {
      for (const db of opened) {
        await db.close();
        untrack(db);
      }
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

async function recorded(db: Db): Promise<{ id: number; name: string; applied_at: Date }[]> {
  return (await db.query<{ id: number; name: string; applied_at: Date }>(`SELECT id, name, applied_at FROM switchyard_migrations ORDER BY id`)).rows;
}

async function tableExists(db: Db, name: string): Promise<boolean> {
  return Boolean((await db.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [name])).rows[0]?.t);
}

describe('migrate', () => {
  it('finds the numbered .sql files in order and nothing else', () => {
    const dir = tempDir('sy-migrations-');
    for (const f of ['0002_second.sql', '0001_first.sql', 'README.md', '0003-dash.sql', 'schema.sql', '0010_tenth.sql']) writeFileSync(join(dir, f), `-- ${f}`);
    expect(loadMigrations(dir).map((m) => [m.id, m.name])).toEqual([
      [1, '0001_first.sql'],
      [2, '0002_second.sql'],
      [10, '0010_tenth.sql'],
    ]);
    expect(ALL[0]).toBe('0001_init.sql');
  });

  it('on a migrated database applies nothing and changes nothing', async () => {
    const before = await recorded(migrated);
    expect(before.map((r) => r.name)).toEqual(ALL);
    expect(await pendingMigrations(migrated)).toEqual([]);
    expect(await migrate(migrated)).toEqual([]);
    expect(await migrate(migrated)).toEqual([]);
    expect(await recorded(migrated)).toEqual(before);
  });

  it('on an empty database applies every migration once, in order, then is a no-op', async () => {
    const empty = await emptyDatabase();
    try {
      const db = await empty.open();
      expect(await pendingMigrations(db)).toEqual(ALL);
      expect(await migrate(db)).toEqual(ALL);
      expect((await recorded(db)).map((r) => r.name)).toEqual(ALL);
      for (const t of ['workspaces', 'api_tokens', 'tasks', 'task_runs', 'task_transitions', 'task_events', 'daemons']) expect(await tableExists(db, t), t).toBe(true);
      expect(await migrate(db)).toEqual([]);
      expect(await pendingMigrations(db)).toEqual([]);
    } finally {
      await empty.close();
    }
  });

  it('lets two migrators start together: both succeed and each migration runs once', async () => {
    const empty = await emptyDatabase();
    try {
      // On PostgreSQL these are two pools, as two server processes would have.
      const [a, b] = [await empty.open(), await empty.open()];
      const results = await Promise.all([migrate(a), migrate(b)]);
      expect(results.flat().sort()).toEqual([...ALL].sort());
      expect(results.some((r) => r.length === 0)).toBe(true);
      expect((await recorded(a)).map((r) => r.name)).toEqual(ALL);
    } finally {
      await empty.close();
    }
  });

  it('rolls back a failing migration, does not record it, and releases the lock', async () => {
    const db = migrated;
    const broken: Migration = { id: 9999, name: '9999_broken.sql', sql: 'CREATE TABLE half_done (id int);\nSELEC oops;' };
    await expect(migrate(db, [...loadMigrations(), broken])).rejects.toThrow(/9999_broken\.sql/);
    // The applied ones stay; the broken one left nothing behind.
    expect((await recorded(db)).map((r) => r.name)).toEqual(ALL);
    expect(await tableExists(db, 'half_done')).toBe(false);
    expect(await pendingMigrations(db, [...loadMigrations(), broken])).toEqual(['9999_broken.sql']);
    const locks = await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory'`);
    expect(locks.rows, 'no advisory lock left behind').toEqual([]);
    // Another server can still migrate (on PostgreSQL through its own pool).
    const other = dbKind() === 'postgres' ? await openStore({ kind: 'postgres', connection: { connectionString: migrated.url! }, describe: 'another server' }) : db;
    try {
      expect(await migrate(other)).toEqual([]);
    } finally {
      if (other !== db) await other.close();
    }
  });
});

/**
 * A fresh, migrated database for one test file, on the backend of the
 * running vitest project: PGlite from the run's snapshot, or PostgreSQL
 * cloned from the run's template database (and dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { inject, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { openStore } from '../../src/store/open.js';

export const dbKind = (): 'pglite' | 'postgres' => inject('dbKind');

let snapshot: Blob | undefined;

export type TestDb = Db & { url?: string };

export async function createTestDb(): Promise<TestDb> {
  if (dbKind() === 'pglite') {
    snapshot ??= new Blob([readFileSync(inject('pgliteSnapshot'))]);
    return openStore({ kind: 'pglite', loadDataDir: snapshot });
  }
  const url = process.env.DATABASE_URL!;
  const template = inject('pgTemplate');
  const name = `${template}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db: TestDb = await openStore({ kind: 'postgres', connection: { connectionString: u.toString(), max: 10 }, describe: name });
  db.url = u.toString();
  const close = db.close.bind(db);
  db.close = async () => {
    await close();
    const a = new pg.Client({ connectionString: url });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await a.end();
  };
  return db;
}


/**
 * Registers a test only in the PostgreSQL project: races between connections
 * need a server with real concurrent sessions (PGlite runs one at a time).
 */
export function itOnPostgres(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  if (dbKind() === 'postgres') it(name, fn, timeoutMs);
}

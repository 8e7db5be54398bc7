import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDb, dbKind } from '../helpers/db.js';
import { startTestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const readyz = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
};

describe('/readyz', () => {
  it('answers 503 while the database is unreachable (PGlite closed; PostgreSQL refusing sessions), and ready again once PostgreSQL is back', async () => {
    const db = await createTestDb();
    const s = await startTestServer({ db });
    let admin: pg.Client | undefined;
    const name = db.url ? new URL(db.url).pathname.slice(1) : '';
    try {
      expect(await readyz(s.url)).toEqual({ status: 200, body: { status: 'ready' } });
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);

      if (dbKind() === 'pglite') {
        // The embedded database goes away under the running server.
        await db.close();
      } else {
        // PostgreSQL refuses this database's new sessions and ends the server's current ones.
        admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await admin.connect();
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      }
      const down = await until(async () => {
        const r = await readyz(s.url);
        return r.status === 503 ? r : undefined;
      }, 'readyz to fail');
      expect(down.body).toMatchObject({ status: 'not_ready', reason: 'database unreachable' });
      // The process itself still serves.
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      const scraped = await (await fetch(`${s.url}/metrics`)).text();
      expect(scraped).toMatch(/^switchyard_database_up 0$/m);

      if (admin) {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
        // The pool reconnects, and so does the LISTEN connection (readyz waits for both).
        await until(async () => (await readyz(s.url)).status === 200, 'readyz to recover', 30_000);
      }
    } finally {
      if (admin) {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => undefined);
        await admin.end();
      }
      await s.close();
      if (dbKind() === 'postgres') await db.close();
    }
  }, 60_000);
});

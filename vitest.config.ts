/**
 * `npm test` runs every suite on PGlite. With DATABASE_URL set, the suites
 * that touch the database run a second time on PostgreSQL — the same files,
 * as a second vitest project. In CI (SWITCHYARD_REQUIRE_POSTGRES=1) a missing
 * DATABASE_URL is an error, never a silent skip.
 */
import { configDefaults, defineConfig } from 'vitest/config';

const postgres = Boolean(process.env.DATABASE_URL);
if (process.env.SWITCHYARD_REQUIRE_POSTGRES === '1' && !postgres) {
  throw new Error('SWITCHYARD_REQUIRE_POSTGRES=1 but DATABASE_URL is not set: the PostgreSQL suites cannot run');
}

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  globalSetup: ['test/setup/global.ts'],
  setupFiles: ['test/setup/leaks.ts'],
};

/** Suites that use the database; they run on both backends. */
const DB_SUITES = ['test/store/**/*.test.ts', 'test/server/**/*.test.ts', 'test/e2e/**/*.test.ts'];
/** End-to-end files whose subject is not the database (real agent CLIs against a mock model): PGlite only, they cost minutes. */
const NOT_ON_POSTGRES = ['test/e2e/realAgents.test.ts'];
/** Files whose every test needs PostgreSQL (several server processes on one database): not in the PGlite project at all. */
const POSTGRES_ONLY = ['test/e2e/scaleOut.test.ts'];

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'pglite', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...POSTGRES_ONLY], env: { SWITCHYARD_TEST_DB: 'pglite' } } },
      ...(postgres ? [{ test: { ...shared, name: 'postgres', include: DB_SUITES, exclude: [...configDefaults.exclude, ...NOT_ON_POSTGRES], env: { SWITCHYARD_TEST_DB: 'postgres' } } }] : []),
    ],
  },
});

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** An initialised, migrated embedded database made at build time (scripts/build-seed.mjs). */
export const SEED_PATH = fileURLToPath(new URL('../pglite-seed.tgz', import.meta.url));

export function readSeed(): Blob | undefined {
  return existsSync(SEED_PATH) ? new Blob([readFileSync(SEED_PATH)]) : undefined;
}

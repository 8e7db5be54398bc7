/**
 * Hot queries live in `src/store/sql/*.sql`, one statement per file, so they
 * can be read, reviewed and EXPLAINed on their own. They are read once and
 * cached.
 */
import { readFileSync } from 'node:fs';

const cache = new Map<string, string>();
// src/store and dist/store both resolve to the package's src/store/sql.
const SQL_DIR = new URL('../../src/store/sql/', import.meta.url);

export function sql(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`${name}.sql`, SQL_DIR), 'utf8');
    cache.set(name, text);
  }
  return text;
}

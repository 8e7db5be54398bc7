/**
 * Keyset paging on (created_at, id), newest first, as the task list and the
 * webhook delivery log page. The cursor is the last row's key, opaque to
 * clients: PostgreSQL's own text of `created_at` (exact to the microsecond,
 * which a JavaScript Date is not) and the row's uuid. The query selects
 * `created_at::text AS created_at_text` and asks for `limit + 1` rows, the
 * extra one telling whether there is a next page.
 */
import { ValidationError } from '../core/errors.js';
import { pgErrorCode } from './db.js';
import type { DbRow } from './rows.js';

export type KeysetCursor = [createdAt: string, id: string];

export function decodeCursor(cursor: string): KeysetCursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      // Exactly PostgreSQL's own text form of a timestamptz (what keysetPage stores).
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/.test(v[0]) &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v[1])
    ) {
      return [v[0], v[1]];
    }
  } catch {
    // fall through to the validation error
  }
  throw cursorError();
}

/**
 * For the page query's `.catch`: a cursor of the right shape with an
 * impossible time (February 31) is still the client's mistake, not a 500.
 */
export function rethrowBadCursorTime(after: KeysetCursor | null): (err: unknown) => never {
  return (err) => {
    if (after && ['22007', '22008'].includes(pgErrorCode(err) ?? '')) throw cursorError();
    throw err;
  };
}

/** The first `limit` rows as items, and the cursor of the next page when the query found one row more. */
export function keysetPage<T>(rows: DbRow[], limit: number, toItem: (r: DbRow) => T): { items: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return { items: page.map(toItem), nextCursor: more && last ? encodeCursor([String(last.created_at_text), String(last.id)]) : null };
}

function encodeCursor(key: KeysetCursor): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function cursorError(): ValidationError {
  return new ValidationError('invalid cursor', [{ path: 'cursor', message: 'expected a nextCursor value from a previous page' }]);
}

/**
 * Tokens of coding-task text. Prose words and identifiers are both kept:
 * `getUserById` gives the words get, user, by, id (for word vectors) and the
 * identifier getuserbyid (for exact matching); `src/auth/session.ts` gives
 * src, auth, session, ts and the identifiers src/auth/session.ts and
 * session.ts. File names, error codes and function names are what tell
 * look-alike coding tasks apart.
 */

/** Common English words that carry no meaning for retrieval. */
export const STOP_WORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does doing for from had has have having he her here hers him his how i if in into ' +
    'is it its itself just me my no nor not of on once only or other our ours out over own same she should so some such than that the their ' +
    'theirs them then there these they this those through to too under until up very was we were what when where which while who whom why ' +
    'will with would you your yours also any all each few more most both again further about above after before below between during off ' +
    'now s t don doesn didn isn wasn aren won can\'t it\'s let lets get got via per e g eg ie etc'
  ).split(/\s+/),
);

export interface Token {
  /** The token as written, lowercased, e.g. "src/auth/session.ts", "getuserbyid", "econnreset", "login". */
  raw: string;
  /** Its words, lowercased: "getUserById" → get, user, by, id. */
  words: string[];
  /** Looks like code rather than prose: has a dot, slash, underscore, digit, inner capital or dash. */
  identifier: boolean;
}

const RAW = /[A-Za-z0-9_][A-Za-z0-9_.\-/:#@]*/g;

/** Splits camelCase and PascalCase, and letters from digits: "HTTPServer2Error" → HTTP, Server, 2, Error. */
function splitCase(part: string): string[] {
  return part.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? [];
}

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(RAW)) {
    const written = m[0].replace(/[.\-/:#@]+$/, '');
    if (!written) continue;
    const parts = written.split(/[._\-/:#@]+/).filter(Boolean);
    const words = parts.flatMap(splitCase).map((w) => w.toLowerCase());
    const identifier = parts.length > 1 || /[0-9]/.test(written) || /[a-z][A-Z]/.test(written) || /^[A-Z0-9_]{3,}$/.test(written);
    out.push({ raw: written.toLowerCase(), words, identifier });
    // A path also stands for its last part: "src/auth/session.ts" ~ "session.ts".
    if (written.includes('/')) {
      const base = written.slice(written.lastIndexOf('/') + 1).toLowerCase();
      if (base && base !== written.toLowerCase()) out.push({ raw: base, words: [], identifier: true });
    }
  }
  return out;
}

/** Character n-grams of a word with boundary marks: "auth" → "<au", "aut", "uth", "th>". */
export function charNgrams(word: string, n = 3): string[] {
  const w = `<${word}>`;
  if (w.length <= n) return [w];
  const out: string[] = [];
  for (let i = 0; i + n <= w.length; i++) out.push(w.slice(i, i + n));
  return out;
}

/** 32-bit FNV-1a: a fast, stable hash (the same on every machine and version). */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Adds `weight` for `feature` into `v` at a hashed index with a hashed sign (feature hashing). */
export function addHashed(v: Float32Array, feature: string, weight: number): void {
  const h = fnv1a(feature);
  const sign = fnv1a(feature, 0x9747b28c) & 1 ? 1 : -1;
  v[h % v.length]! += sign * weight;
}

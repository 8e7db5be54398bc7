/**
 * Raw HTTP against a test server, for tests that must see exactly what goes
 * over the wire (status, headers, body) rather than what the typed client
 * makes of it. Shared by the test/server suites.
 */
import { expect } from 'vitest';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
}

export interface CallOptions {
  token?: string;
  /** A value to send as JSON, or a string sent verbatim. */
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call(base: string, method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) };
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  Object.assign(headers, opts.headers);
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface ErrorShape {
  code: string;
  message: string;
  details?: unknown;
}

/** Asserts the API's error shape `{ error: { code, message, details? } }` and answers the error. */
export function apiError(a: Answer): ErrorShape {
  expect(a.headers.get('content-type') ?? '', `content-type of ${a.status} ${a.text.slice(0, 200)}`).toMatch(/^application\/json/);
  expect(a.json, a.text.slice(0, 300)).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  const e = (a.json as { error: ErrorShape }).error;
  expect(Object.keys(a.json as object)).toEqual(['error']);
  for (const k of Object.keys(e)) expect(['code', 'message', 'details']).toContain(k);
  return e;
}

/** Nothing internal leaks to a client: no stack frames, no SQL, no driver or file names. */
export function expectNothingInternal(a: Answer): void {
  const leaks = [/\bat .+:\d+:\d+/, /node_modules/, /\/src\//, /\bSELECT\b/i, /\bINSERT INTO\b/i, /\bUPDATE \w+ SET\b/i, /\bWHERE\b/, /syntax error/i, /pg_/, /\bstack\b/i, /RangeError|TypeError|ZodError/];
  for (const re of leaks) expect(a.text, `the body leaks ${re}`).not.toMatch(re);
}

/** The `details` entries naming each failing field. */
export function detailPaths(e: ErrorShape): string[] {
  return Array.isArray(e.details) ? (e.details as { path?: string }[]).map((d) => d.path ?? '') : [];
}

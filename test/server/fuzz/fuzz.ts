/**
 * Shared parts of the fuzz suite (test/server/fuzz): the fast-check settings
 * (fixed seed, overridable), a logger that records the server's error lines,
 * raw HTTP over a TCP socket (so malformed bytes reach the server exactly as
 * generated), the checks every answer must pass, and the arbitraries of
 * malformed JSON, strings, ids and query strings.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino, { type Logger } from 'pino';
import { expect } from 'vitest';

// ------------------------------------------------------------------ settings

const DEFAULT_SEED = 20_240_611;

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got ${v}`);
  return n;
}

/** FUZZ_SEED replays a run (fast-check prints the seed and the counterexample of a failure). */
export const FUZZ_SEED = envInt('FUZZ_SEED') ?? DEFAULT_SEED;
const FUZZ_RUNS = envInt('FUZZ_RUNS');

/**
 * fast-check parameters for one property. `runs` is its default number of
 * cases, sized so the whole suite stays within ~40 s per database on two
 * cores; FUZZ_RUNS replaces it for every property (e.g. 5000 for a long
 * soak). A case that does not finish within `timeout` fails as a hang.
 */
export function fuzzParams<T>(runs: number, timeout = 15_000): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: FUZZ_RUNS ?? runs, timeout, endOnFailure: true, verbose: fc.VerbosityLevel.Verbose };
}

// ------------------------------------------------------------------- logging

export interface ErrorLog {
  log: Logger;
  /** Lines of level ≥ 50 (error, fatal) the server logged. */
  lines: string[];
}

/**
 * A logger that keeps every line of level error or above: an error logged by
 * the server is a request it failed to handle, even when the client got a
 * polite answer. Set SWITCHYARD_TEST_LOG to also see them on stderr.
 */
export function errorLog(): ErrorLog {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        lines.push(line);
        if (process.env.SWITCHYARD_TEST_LOG) process.stderr.write(`${line}\n`);
      }
      done();
    },
  });
  return { log: pino({ level: 'error' }, sink), lines };
}

// ------------------------------------------------------------------ raw HTTP

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes as they are over a new TCP connection and reads one answer
 * (`end`: then half-closes, for requests that are incomplete on purpose).
 * Resolves `undefined` when the server closed the connection without
 * answering (what it may do with a request it could not even read); rejects
 * when nothing happens within `timeoutMs` (a hang).
 */
export function rawHttp(base: string, request: Buffer | string, opts: { end?: boolean; timeoutMs?: number } = {}): Promise<RawAnswer | undefined> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err: Error | undefined, a?: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(a);
    };
    const timer = setTimeout(() => finish(new Error(`no answer and no close within ${opts.timeoutMs ?? 10_000} ms (a hang): ${String(request).slice(0, 200)}`)), opts.timeoutMs ?? 10_000);
    const tryParse = (final: boolean) => {
      const buf = Buffer.concat(chunks);
      const a = parseAnswer(buf, final);
      if (a) finish(undefined, a);
      else if (final) finish(undefined, undefined);
    };
    sock.on('connect', () => {
      sock.write(request);
      // Only on request: Node's HTTP server aborts a request whose client half-closed before the answer was ready.
      if (opts.end) sock.end();
    });
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      tryParse(false);
    });
    // A reset after the server answered (or refused to read) is a close, not a failure.
    sock.on('error', () => tryParse(true));
    sock.on('close', () => tryParse(true));
  });
}

/** One HTTP/1.1 answer from the start of `buf`, once it is complete (or the connection ended). */
function parseAnswer(buf: Buffer, final: boolean): RawAnswer | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  if (!m) throw new Error(`not an HTTP answer: ${JSON.stringify(head[0])}`);
  const headers: Record<string, string> = {};
  for (const h of head.slice(1)) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  let rest = buf.subarray(end + 4);
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (rest.length < n) return final ? { status: Number(m[1]), headers, body: rest.toString() } : undefined;
    rest = rest.subarray(0, n);
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', at);
      if (nl < 0) return final ? { status: Number(m[1]), headers, body: Buffer.concat(out).toString() } : undefined;
      const size = parseInt(rest.subarray(at, nl).toString(), 16);
      if (size === 0) break;
      if (rest.length < nl + 2 + size) return final ? { status: Number(m[1]), headers, body: Buffer.concat(out).toString() } : undefined;
      out.push(rest.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
    rest = Buffer.concat(out);
  } else if (!final && !(Number(m[1]) === 204 || Number(m[1]) === 304)) {
    return undefined;
  }
  return { status: Number(m[1]), headers, body: rest.toString() };
}

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD, as Buffer.from makes them), keeping unreserved characters. */
export function pct(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** An HTTP/1.1 request with a JSON-ish body, framed correctly unless the caller says otherwise. */
export function httpRequest(method: string, path: string, opts: { token?: string; body?: Buffer | string; headers?: [string, string][] } = {}): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  if (opts.token !== undefined) lines.push(`Authorization: Bearer ${opts.token}`);
  const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
  if (body) lines.push('Content-Type: application/json', `Content-Length: ${body.length}`);
  for (const [k, v] of opts.headers ?? []) lines.push(`${k}: ${v}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)]);
}

// ---------------------------------------------------------------- the checks

/** Signs of internals in a body: stack frames, source paths, dependency folders. */
const LEAKS = [/\bat (?:async )?\S*\s?\(?(?:file:\/\/|node:|\/)\S*:\d+:\d+/, /node_modules/, new RegExp(process.cwd().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))];

/**
 * What every answer must be: below 500 and, when it refuses, the API's error
 * shape `{ error: { code, message, details? } }` with nothing internal in it.
 * `framework` allows the plain `{ message }` body Node/Fastify answer with
 * to bytes that are not an HTTP request at all (before any route runs).
 */
export function expectSound(a: RawAnswer, what: string, opts: { framework?: boolean } = {}): void {
  const where = `${what} → ${a.status} ${a.body.slice(0, 300)}`;
  expect(a.status, where).toBeGreaterThanOrEqual(100);
  expect(a.status, where).toBeLessThan(500);
  for (const re of LEAKS) expect(a.body, `leaks ${re}: ${where}`).not.toMatch(re);
  if (a.status < 400) return;
  if (opts.framework && a.body === '') return;
  let json: unknown;
  try {
    json = JSON.parse(a.body);
  } catch {
    throw new Error(`a ${a.status} whose body is not JSON: ${where}`);
  }
  if (opts.framework && json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') return;
  expect(json, where).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  expect(Object.keys(json as object), where).toEqual(['error']);
  for (const k of Object.keys((json as { error: object }).error)) expect(['code', 'message', 'details'], where).toContain(k);
}

/** JSON.parse of a request body with a __proto__ or constructor.prototype key must never reach Object.prototype. */
export function expectNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  for (const k of ['polluted', 'isAdmin', 'role', 'workspaceId']) expect(probe[k], `Object.prototype.${k} was polluted`).toBeUndefined();
}

// -------------------------------------------------------------- arbitraries

/** Keys that try to reach prototypes when a body is merged or assigned somewhere. */
export const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

const specialChars = fc.constantFrom('\u0000', '\ud800', '\udfff', '\udc00\ud800', '\uffff', '\ufeff', '\u202e', '\u2028', '\r\n', '"', '\\', '%', '\u00e9', '\ud83d\ude00', '\u0007', '\u001b[31m');

/** Strings a schema might not expect: NUL, lone surrogates, control and bidi characters, quotes, emoji, any code point. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.array(fc.oneof(specialChars, fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 12 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '   ', 'null', 'true', '0', '-1', 'NaN', 'undefined', '[object Object]', "'; DROP TABLE tasks; --", '../../../etc/passwd', '%s%s%n', '${7*7}', '{{7*7}}', 'http://127.0.0.1:1/x') },
  { weight: 1, arbitrary: fc.constantFrom(101, 256, 1_001).map((n) => 'x'.repeat(n)) },
);

/** Long strings: past every field's maximum, past max_prompt_size (1 MiB), and made of characters that grow when escaped or encoded. */
export const hugeString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(5_000, 70_000).chain((n) => fc.constantFrom('x', '\u00e9', '\ud800', '\u0000').map((c) => c.repeat(n))),
  fc.constant('x'.repeat(1_100_000)),
);

/** Numbers at the edges: beyond int4 and 2^53, negative zero, fractions, exponents JSON allows but no column holds. */
const numberText = fc.oneof(
  fc.constantFrom('0', '-0', '1', '-1', '1.5', '0.1', '2147483647', '2147483648', '-2147483649', '4294967296', '9007199254740993', '1e308', '-1e308', '1e400', '-1e400', '1e-400', '5e-324', '123456789012345678901234567890', '1E2', '0e0', '36500', '36501', '10001'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.integer().map(String),
);

const scalarText = fc.oneof(
  { weight: 3, arbitrary: nastyString.map((s) => JSON.stringify(s)) },
  { weight: 3, arbitrary: numberText },
  { weight: 1, arbitrary: fc.constantFrom('null', 'true', 'false') },
);

/** Nesting far beyond any schema's depth: `[[[…]]]` or `{"a":{"a":…}}`, up to 100k levels. */
export const deepText: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(64, 1_000, 10_000, 100_000), fc.boolean())
  .map(([n, arrays]) => (arrays ? `${'['.repeat(n)}1${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`));

/** Arrays and objects far wider than any schema's maximum. */
const hugeText: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(1_001, 10_001, 200_000), fc.constantFrom('1', '"x"', '{}', 'null'))
  .map(([n, item]) => `[${Array.from({ length: n }, () => item).join(',')}]`);

/** A JSON value as text (so keys such as __proto__ survive as they are), of any type and shape. */
export function jsonText(keys: readonly string[] = []): fc.Arbitrary<string> {
  const key = fc.oneof({ weight: 4, arbitrary: keys.length ? fc.constantFrom(...keys) : nastyString }, { weight: 1, arbitrary: fc.constantFrom(...POLLUTION_KEYS) }, { weight: 1, arbitrary: nastyString });
  const { value } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarText, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }).map((a) => `[${a.join(',')}]`),
    object: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  }));
  return value;
}

/**
 * A request body: mostly an object of the route's own keys (wrong types,
 * extra and prototype keys), else any JSON, deep or huge JSON, a
 * prototype-pollution attempt, or text that is not JSON at all.
 */
export function bodyText(keys: readonly string[]): fc.Arbitrary<string> {
  const value = jsonText(keys);
  const own = fc.array(fc.tuple(fc.oneof({ weight: 5, arbitrary: keys.length ? fc.constantFrom(...keys) : nastyString }, { weight: 1, arbitrary: fc.constantFrom(...POLLUTION_KEYS) }, { weight: 1, arbitrary: nastyString }), fc.oneof({ weight: 12, arbitrary: value }, { weight: 1, arbitrary: deepText }, { weight: 1, arbitrary: hugeText }, { weight: 1, arbitrary: hugeString.map((h) => JSON.stringify(h)) })), { maxLength: 6 });
  return fc.oneof(
    { weight: 10, arbitrary: own.map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`) },
    { weight: 3, arbitrary: value },
    { weight: 1, arbitrary: deepText },
    { weight: 1, arbitrary: hugeText },
    { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"polluted":true,"isAdmin":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"a":1,"a":2}', '\ufeff{}', '{}garbage', '{"a":NaN}', '{"a":Infinity}', "{'a':1}", '{"a":1,}', '[1,]', '{', '"', '') },
    { weight: 1, arbitrary: fc.tuple(value, fc.nat()).map(([t, n]) => t.slice(0, n % (t.length + 1))) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  );
}

/** A path parameter: a real id, a well-formed id of nothing, or garbage (not a uuid, overlong, percent-encoding that does not decode). */
export function pathParam(real: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...real) },
    { weight: 2, arbitrary: fc.uuid().map(String) },
    { weight: 2, arbitrary: nastyString.filter((s) => s.length < 300).map(pct) },
    { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%0', '%00', '%C3%28', '%ED%A0%80', '%FF%FE', '%2F', '..', '.', '%2E%2E', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '3f2c1a9e-0000-4000-8000-00000000zzzz', 'DEFAULT', 'a'.repeat(201), 'a'.repeat(5000), '-', '--1') },
  );
}

/** A query string: the route's own names and others, repeated, with garbage or percent-garbage values (or none). */
export function queryString(names: readonly string[], realValues: readonly string[]): fc.Arbitrary<string> {
  const name = fc.oneof({ weight: 4, arbitrary: names.length ? fc.constantFrom(...names) : fc.constant('workspace') }, { weight: 1, arbitrary: nastyString.filter((s) => s.length < 100).map(pct) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'workspace[]', 'limit[0]', 'a[b][c]') });
  const value = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...realValues) },
    { weight: 3, arbitrary: nastyString.filter((s) => s.length < 2_000).map(pct) },
    { weight: 2, arbitrary: numberText },
    { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%00', '%C3%28', '%FF', '+', '&', '==', '', 'queued,bogus', 'queued,,', ',') },
  );
  const pair = fc.oneof({ weight: 5, arbitrary: fc.tuple(name, value).map(([k, v]) => `${k}=${v}`) }, { weight: 1, arbitrary: name });
  return fc.oneof({ weight: 6, arbitrary: fc.array(pair, { minLength: 1, maxLength: 5 }).map((ps) => `?${ps.join('&')}`) }, { weight: 1, arbitrary: fc.constantFrom('', '?', '?&&', '?=', '??', '?#') });
}

// ---------------------------------------------------------- the route list

export interface Route {
  method: string;
  /** The OpenAPI path, e.g. `/api/v1/tasks/{id}`. */
  path: string;
  params: string[];
  query: string[];
  /** Property names of the JSON body, from every alternative of its schema. */
  bodyKeys: string[];
  hasBody: boolean;
}

interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}
interface JsonSchema {
  properties?: Record<string, unknown>;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

function schemaKeys(s: JsonSchema | undefined, out: Set<string>): void {
  if (!s) return;
  for (const k of Object.keys(s.properties ?? {})) out.add(k);
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) schemaKeys(alt, out);
}

/** Every operation of the server's OpenAPI document, so a new route is fuzzed without touching this suite. */
export function routesOf(doc: { paths: Record<string, Record<string, OpenApiOperation>> }): Route[] {
  const routes: Route[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const keys = new Set<string>();
      schemaKeys(op.requestBody?.content?.['application/json']?.schema, keys);
      routes.push({
        method: method.toUpperCase(),
        path,
        params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        bodyKeys: [...keys],
        hasBody: op.requestBody !== undefined || method !== 'get',
      });
    }
  }
  return routes;
}

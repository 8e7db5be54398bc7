/**
 * Fuzzing what surrounds a body: Authorization headers (malformed, wrong,
 * huge, duplicated), content types and encodings, Content-Length and
 * Transfer-Encoding that lie, truncated bodies, invalid UTF-8, and bytes that
 * are not HTTP at all — over a raw TCP socket, so nothing is tidied up on
 * the way. The answer is below 500 (or, for bytes that are no request, a
 * closed connection), and the server serves normally afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSound, fuzzParams, jsonText, nastyString, rawHttp } from './fuzz.js';
import { expectStillServing, startWorld, type World } from './world.js';

let w: World;

beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
/** Header values as bytes: printable garbage, or latin-1 and UTF-8 bytes a header should not carry. */
const headerValue = fc.oneof(
  { weight: 4, arbitrary: printable },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a.filter((b) => b !== 0x0a && b !== 0x0d)).toString('latin1')) },
  { weight: 1, arbitrary: nastyString.map((s) => Buffer.from(s, 'utf8').toString('latin1').replace(/[\r\n]/g, '')) },
);

type Auth = (w: World) => string[];
const AUTH: fc.Arbitrary<Auth> = fc.oneof(
  fc.constant<Auth>(() => []),
  fc.constant<Auth>((w) => [`Bearer ${w.a.tokens.member}`]),
  fc.constant<Auth>((w) => [`bearer    ${w.a.tokens.member}   `]),
  fc.constant<Auth>((w) => [`Bearer ${w.a.tokens.member}`, `Bearer ${w.b.tokens.admin}`]),
  fc.constant<Auth>((w) => [`Bearer ${w.a.tokens.member} ${w.b.tokens.admin}`]),
  fc.constant<Auth>((w) => [`Bearer ${w.a.tokens.daemon}`]),
  fc.constant<Auth>((w) => [`Basic ${Buffer.from(`x:${w.a.tokens.member}`).toString('base64')}`]),
  fc.constant<Auth>((w) => [`Bearer ${w.a.tokens.member.slice(0, -1)}`]),
  fc.constant<Auth>(() => [`Bearer ${'a'.repeat(5_000)}`]),
  fc.constant<Auth>(() => ['Bearer', 'Bearer ', '']),
  headerValue.map<Auth>((v) => () => [v]),
  headerValue.map<Auth>((v) => () => [`Bearer ${v}`]),
);

const CONTENT_TYPE = fc.oneof(
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/json;;;', 'application/jsonx', 'application/vnd.api+json', 'text/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=', '*/*', 'application/octet-stream', 'application/json, text/plain', ''),
  headerValue,
);
const CONTENT_ENCODING = fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'gzip, gzip', 'x-garbage', 'compress', '');

/** Bodies as bytes: JSON with invalid UTF-8 inside strings (lone continuation bytes, overlong forms, encoded surrogates), BOMs, or raw bytes. */
const BODY = fc.oneof(
  { weight: 3, arbitrary: jsonText(['assignedAgent', 'prompt', 'name', 'reason', 'answer']).map((t) => Buffer.from(t, 'utf8')) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom([0xff], [0xfe, 0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xf0, 0x9f, 0x98]), fc.constantFrom('assignedAgent', 'prompt', 'name'))
      .map(([bad, key]) => Buffer.concat([Buffer.from(`{"assignedAgent":"fake","name":"n","${key}":"a`), Buffer.from(bad), Buffer.from('b"}')])),
  },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), Buffer.from([0xfe, 0xff, 0, 0x7b, 0, 0x7d]), Buffer.from('{"prompt":"x"}', 'utf16le')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
);

/** How the body is framed: honestly, or with a Content-Length or chunking that lies. */
const FRAMING = fc.constantFrom('exact', 'short', 'long-truncated', 'not-a-number', 'negative', 'two-lengths', 'chunked', 'bad-chunk', 'chunked-and-length', 'te-gzip', 'none');

const ROUTES: [string, (w: World) => string][] = [
  ['POST', () => '/api/v1/tasks'],
  ['POST', () => '/api/v1/workspaces'],
  ['PATCH', (w) => `/api/v1/workspaces/${w.a.id}`],
  ['POST', (w) => `/api/v1/workspaces/${w.a.id}/tokens`],
  ['POST', (w) => `/api/v1/tasks/${w.objA.task}/cancel`],
  ['POST', (w) => `/api/v1/tasks/${w.objB.task}/answer`],
  ['POST', () => '/api/v1/skills'],
  ['GET', () => '/api/v1/tasks?limit=5'],
  ['GET', (w) => `/api/v1/tasks/${w.objB.task}`],
  ['DELETE', (w) => `/api/v1/webhooks/${w.objB.webhook}`],
  ['GET', () => '/api/v1/me'],
];

function frame(method: string, path: string, headers: [string, string][], body: Buffer, how: string): Buffer {
  const h: string[] = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers.map(([k, v]) => `${k}: ${v}`)];
  let payload = body;
  switch (how) {
    case 'exact':
      h.push(`Content-Length: ${body.length}`);
      break;
    case 'short':
      // The rest of the body reads as a second, pipelined request (that is garbage).
      h.push(`Content-Length: ${Math.floor(body.length / 2)}`);
      break;
    case 'long-truncated':
      h.push(`Content-Length: ${body.length + 10}`);
      break;
    case 'not-a-number':
      h.push('Content-Length: 12abc');
      break;
    case 'negative':
      h.push('Content-Length: -1');
      break;
    case 'two-lengths':
      h.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      break;
    case 'chunked':
      h.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'bad-chunk':
      h.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'chunked-and-length':
      h.push('Transfer-Encoding: chunked', `Content-Length: ${body.length}`);
      payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'te-gzip':
      h.push('Transfer-Encoding: gzip');
      break;
    case 'none':
      payload = Buffer.alloc(0);
      break;
  }
  return Buffer.concat([Buffer.from(`${h.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

describe('headers and framing fuzz', () => {
  it('answers every generated combination of headers, framing and body bytes below 500', async () => {
    const req = fc.record({
      route: fc.constantFrom(...ROUTES),
      auth: AUTH,
      contentType: fc.option(CONTENT_TYPE, { nil: undefined }),
      encoding: fc.option(CONTENT_ENCODING, { freq: 4, nil: undefined }),
      extra: fc.array(fc.tuple(fc.oneof(fc.constantFrom('X-Request-Id', 'Accept', 'Accept-Encoding', 'Expect', 'Origin', 'X-Forwarded-For', 'Cookie', 'Host', 'Content-Type'), printable.filter((s) => /^[A-Za-z0-9-]+$/.test(s))), headerValue), { maxLength: 4 }),
      huge: fc.constantFrom('none', 'none', 'none', 'none', 'big-header', 'many-headers'),
      body: BODY,
      framing: FRAMING,
    });
    await fc.assert(
      fc.asyncProperty(req, async (r) => {
        const [method, path] = r.route;
        const headers: [string, string][] = r.auth(w).map((v) => ['Authorization', v]);
        if (r.contentType !== undefined) headers.push(['Content-Type', r.contentType]);
        if (r.encoding !== undefined) headers.push(['Content-Encoding', r.encoding]);
        headers.push(...r.extra);
        if (r.huge === 'big-header') headers.push(['X-Big', 'b'.repeat(20_000)]);
        if (r.huge === 'many-headers') for (let i = 0; i < 300; i++) headers.push([`X-H${i}`, 'v']);
        const bytes = frame(method, path(w), headers, r.body, r.framing);
        const what = `${method} ${path(w)} ${r.framing} ${JSON.stringify(headers).slice(0, 400)} body ${r.body.toString('hex').slice(0, 120)}`;
        // A body shorter than its Content-Length is an incomplete request: the server may close without an answer once the client is gone.
        const a = await rawHttp(w.s.url, bytes, { timeoutMs: 10_000, end: r.framing === 'long-truncated' });
        if (a) expectSound(a, what, { framework: true });
        else expect(r.framing, `closed without an answer: ${what}`).toBe('long-truncated');
      }),
      fuzzParams(700),
    );
    await expectStillServing(w);
  });

  it('answers bytes that are not an HTTP request with a 4xx or a closed connection', async () => {
    const garbage = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
      fc.tuple(fc.constantFrom('GET', 'POST', 'PROPFIND', 'BREW', 'G\u0000T', 'CONNECT', 'OPTIONS', 'TRACE', ''), printable, fc.constantFrom('HTTP/1.1', 'HTTP/9.9', 'HTTP/1', '', 'HTTP/1.1 extra')).map(([m, p, v]) => Buffer.from(`${m} /api/v1/${p} ${v}\r\nHost: x\r\nConnection: close\r\n\r\n`, 'latin1')),
      fc.constantFrom(`GET /api/v1/tasks?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 'GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\n folded: continuation\r\n\r\n', 'GET /api/v1/tasks HTTP/1.1\nHost: x\n\n', 'GET /api/v1/tasks\u0000 HTTP/1.1\r\nHost: x\r\n\r\n', 'GET http://evil.example/api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').map((s) => Buffer.from(s, 'latin1')),
    );
    await fc.assert(
      fc.asyncProperty(garbage, async (bytes) => {
        const a = await rawHttp(w.s.url, bytes, { timeoutMs: 10_000, end: true });
        if (a) expectSound(a, `raw ${bytes.toString('hex').slice(0, 200)}`, { framework: true });
      }),
      fuzzParams(300),
    );
    await expectStillServing(w);
  });
});

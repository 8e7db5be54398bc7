import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHashProvider, hashVector } from '../../src/skills/hashProvider.js';
import { createLocalProvider } from '../../src/skills/localProvider.js';
import { createOpenAiProvider, embeddingsUrl } from '../../src/skills/openaiProvider.js';
import { charNgrams, tokenize } from '../../src/skills/text.js';
import { cosine, EmbeddingError } from '../../src/skills/types.js';
import { TEST_MODEL_DIR } from '../helpers/server.js';

describe('tokens', () => {
  it('keeps identifiers whole and splits them into words', () => {
    const t = tokenize('Fix getUserById in src/auth/session.ts (ECONNRESET, user_id)');
    expect(t.map((x) => x.raw)).toEqual(['fix', 'getuserbyid', 'in', 'src/auth/session.ts', 'session.ts', 'econnreset', 'user_id']);
    expect(t[1]).toMatchObject({ words: ['get', 'user', 'by', 'id'], identifier: true });
    expect(t.find((x) => x.raw === 'user_id')?.words).toEqual(['user', 'id']);
    expect(t[0]!.identifier).toBe(false);
    expect(charNgrams('auth')).toEqual(['<au', 'aut', 'uth', 'th>']);
  });
});

describe('hash provider', () => {
  it('is deterministic, normalised, and closer for texts sharing words', async () => {
    const p = createHashProvider();
    const [a, b, c] = await p.embed(['session cookie not cleared on logout', 'logout leaves the session cookie', 'CSV export quoting of commas']);
    expect(Array.from(hashVector('session cookie not cleared on logout'))).toEqual(Array.from(a!));
    expect(Math.hypot(...a!)).toBeCloseTo(1);
    expect(cosine(a!, b!)).toBeGreaterThan(cosine(a!, c!));
    expect(p.id).toBe('hash/words-trigrams-256/1');
    expect(createHashProvider({ dims: 64 }).dims).toBe(64);
  });
});

describe('local provider', () => {
  it('embeds meaning: a paraphrase with other words is closer than an unrelated text', async () => {
    const p = createLocalProvider({ modelDir: TEST_MODEL_DIR });
    const [q, right, wrong] = await p.embed([
      'the database connection times out under load',
      'postgres queries hang until the server gives up when traffic is heavy',
      'the button colour is wrong in dark mode',
    ]);
    expect(right!.length).toBe(p.dims);
    expect(Math.hypot(...q!)).toBeCloseTo(1);
    expect(cosine(q!, right!)).toBeGreaterThan(cosine(q!, wrong!));
    const [again] = await p.embed(['the database connection times out under load']);
    expect(Array.from(again!)).toEqual(Array.from(q!));
  }, 120_000);

  it('matches identifiers the vocabulary lacks (file names, error codes)', async () => {
    const p = createLocalProvider({ modelDir: TEST_MODEL_DIR });
    const [q, same, other] = await p.embed(['ECONNRESET in useWebhookRetry', 'handle ECONNRESET in useWebhookRetry', 'handle ETIMEDOUT in useInvoiceRetry']);
    expect(cosine(q!, same!)).toBeGreaterThan(cosine(q!, other!));
    const [align] = await p.rerank!('expired token accepted', ['tokens were accepted after they expired']);
    expect(align).toBeGreaterThan(0.5);
  }, 120_000);
});

describe('openai provider against a mock endpoint', () => {
  let server: Server;
  let url = '';
  const seen: { path: string; auth: string | undefined; body: { input: string[]; model: string; dimensions?: number } }[] = [];
  let script: ((req: IncomingMessage, res: ServerResponse, n: number) => boolean) | undefined;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw) as { input: string[]; model: string };
        seen.push({ path: req.url ?? '', auth: req.headers.authorization, body });
        if (script && script(req, res, seen.length)) return;
        res.setHeader('content-type', 'application/json');
        // Vectors in reverse order with their index: the client must sort them.
        const data = body.input.map((t, i) => ({ index: i, embedding: [t.length, 1, i] })).reverse();
        res.end(JSON.stringify({ object: 'list', data, model: body.model }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('posts batches to /v1/embeddings with the key and returns normalised vectors in input order', async () => {
    seen.length = 0;
    script = undefined;
    const p = createOpenAiProvider({ baseUrl: url, model: 'nomic-embed-text', apiKey: 'sk-test', batchSize: 2 });
    const out = await p.embed(['a', 'bbb', 'cc']);
    expect(seen.map((s) => s.body.input)).toEqual([['a', 'bbb'], ['cc']]);
    expect(seen[0]).toMatchObject({ path: '/v1/embeddings', auth: 'Bearer sk-test' });
    expect(out.map((v) => Math.round((v[0]! / Math.hypot(...v)) * 1000))).toEqual([Math.round((1 / Math.hypot(1, 1, 0)) * 1000), Math.round((3 / Math.hypot(3, 1, 1)) * 1000), Math.round((2 / Math.hypot(2, 1, 0)) * 1000)]);
    expect(p.dims).toBe(3);
    expect(p.id).toBe('openai/nomic-embed-text');
    expect(embeddingsUrl('https://api.openai.com/v1/')).toBe('https://api.openai.com/v1/embeddings');
  });

  it('retries 500 and 429 (honouring Retry-After) and then succeeds', async () => {
    seen.length = 0;
    script = (_req, res, n) => {
      if (n === 1) return (res.writeHead(500).end('{"error":{"message":"boom"}}'), true);
      if (n === 2) return (res.writeHead(429, { 'retry-after': '0' }).end('{}'), true);
      return false;
    };
    const p = createOpenAiProvider({ baseUrl: `${url}/v1`, model: 'm', retries: 3, retryBaseMs: 5 });
    const out = await p.embed(['x']);
    expect(out).toHaveLength(1);
    expect(seen).toHaveLength(3);
  });

  it('fails at once with the server\'s message on 401, and after its retries on a timeout', async () => {
    seen.length = 0;
    script = (_req, res) => (res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"Incorrect API key provided"}}'), true);
    const p = createOpenAiProvider({ baseUrl: url, model: 'm', retries: 3, retryBaseMs: 5 });
    const err = await p.embed(['x']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddingError);
    expect((err as EmbeddingError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/401: Incorrect API key provided \(check the API key\)/);
    expect(seen).toHaveLength(1);

    seen.length = 0;
    script = () => true; // never answers
    const slow = createOpenAiProvider({ baseUrl: url, model: 'm', timeoutMs: 100, retries: 1, retryBaseMs: 5 });
    const timedOut = await slow.embed(['x']).catch((e: unknown) => e);
    expect((timedOut as Error).message).toMatch(/did not answer within 100 ms/);
    expect(seen).toHaveLength(2);
  });
});

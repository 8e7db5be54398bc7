/**
 * The skill endpoints over REST: workspace isolation on each of them, and
 * indexing that survives a failing or hanging embedding endpoint.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/client/index.js';
import { listSkillJobs } from '../../src/store/skillJobs.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const status = (p: Promise<unknown>) => p.then(() => 200, (e: unknown) => (e instanceof ApiError ? e.status : -1));

describe('skill endpoints', () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer()));
  afterAll(async () => s?.close());

  it('never show or change another workspace\'s skills', async () => {
    const a = await s.workspace('skills-a');
    const b = await s.workspace('skills-b');
    const mine = await a.client().skills.create({ name: 'Fix webhook signature', description: 'use the raw body' });
    const other = b.client('admin');
    expect(await status(other.skills.get(mine.id))).toBe(404);
    expect(await status(other.skills.delete(mine.id))).toBe(404);
    expect((await other.skills.search('webhook signature raw body')).items).toEqual([]);
    expect((await other.skills.list()).items).toEqual([]);
    expect((await other.skills.import([{ name: 'x', description: 'y' }])).created).toBe(1);
    expect((await a.client().skills.list()).items.map((x) => x.id)).toEqual([mine.id]);
    const archived = await a.client('admin').skills.archive(0);
    expect(archived.archived).toBe(1);
    expect(await status(other.skills.restore({ file: archived.file! }))).toBe(404);
    expect((await a.client('admin').skills.restore({ file: archived.file! })).restored).toBe(1);
    expect((await other.skills.reembedStatus()).activeModel).toBe('hash/words-trigrams-256/1');
    // A workspace token cannot name another workspace; viewers cannot write.
    const cross = new (await import('../../src/client/index.js')).SwitchyardClient({ url: s.url, token: b.tokens.member, workspace: 'skills-a' });
    expect(await status(cross.skills.list())).toBe(403);
    expect(await status(a.client('viewer').skills.create({ name: 'n', description: 'd' }))).toBe(403);
    expect(await status(a.client('member').skills.archive())).toBe(403);
    expect(await status(s.admin.skills.get(mine.id))).toBe(404); // the admin acts on the default workspace unless it names one
  });

  it('are archived by the maintenance job once unused for longer than the workspace keeps them', async () => {
    const w = await s.workspace('skills-maint', { skillRetentionDays: 30 });
    const stale = await w.client().skills.create({ name: 'Rotate the signing key', description: 'old advice' });
    const fresh = await w.client().skills.create({ name: 'Pin the pglite version', description: 'current advice' });
    await s.db.query(`UPDATE skills SET last_used_at = now() - interval '31 days' WHERE id = $1`, [stale.id]);
    const report = await s.server.maintenance.runNow();
    expect(report.extra.skills).toMatchObject({ archived: 1 });
    expect((await w.client().skills.list()).items.map((x) => x.id)).toEqual([fresh.id]);
    expect((await s.server.maintenance.runNow()).extra.skills).toMatchObject({ archived: 0 });
  });

  it('answers a search best first with the documented fields, and refuses unknown fields', async () => {
    const w = await s.workspace('skills-search');
    const c = w.client();
    await c.skills.import([
      { name: 'Fix JWT expiry check', description: 'exp compared in milliseconds instead of seconds' },
      { name: 'Fix CSV quoting', description: 'commas in addresses shift columns' },
    ]);
    const r = await c.skills.search('token expiry compared in the wrong unit', 5);
    expect(r.items[0]).toMatchObject({ name: 'Fix JWT expiry check', usageCount: 1, embeddingModel: 'hash/words-trigrams-256/1', sourceTaskId: null });
    expect(r.items[0]!.score).toBeGreaterThan(0);
    const res = await fetch(`${s.url}/api/v1/skills`, { method: 'POST', headers: { authorization: `Bearer ${w.tokens.member}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'a', description: 'b', extra: 1 }) });
    expect(res.status).toBe(400);
  });
});

describe('an embedding endpoint that fails or hangs', () => {
  let http: Server;
  let mode: 'fail' | 'hang' | 'ok' = 'fail';
  let calls = 0;
  let s: TestServer;
  beforeAll(async () => {
    http = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        calls++;
        if (mode === 'hang') return; // never answers; the provider's timeout ends it
        if (mode === 'fail') return void res.writeHead(503).end('{"error":{"message":"overloaded"}}');
        const body = JSON.parse(raw) as { input: string[] };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ data: body.input.map((t, i) => ({ index: i, embedding: [t.length % 7, 1, 2, 3] })) }));
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const addr = http.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    s = await startTestServer({
      config: { workspace: { id: 'flaky', embedding: { provider: 'openai', base_url: url, model: 'mock-embed', timeout: '200ms' } } },
      skills: { suggestTimeoutMs: 300 },
    });
  });
  afterAll(async () => {
    await s?.close();
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  });

  it('leaves the task completed and retries the indexing until the endpoint recovers', async () => {
    const d = await startTestDaemon(s.url, s.daemonToken);
    try {
      const client = s.admin;
      for (const m of ['fail', 'hang'] as const) {
        mode = m;
        const before = calls;
        const started = Date.now();
        const t = await client.tasks.create({ assignedAgent: 'fake', prompt: `work --lines 1 (${m})` });
        expect(Date.now() - started).toBeLessThan(5_000); // suggestions gave up, creation did not wait
        await until(async () => (await client.tasks.get(t.id)).status === 'completed', 'the task to complete');
        const job = await until(async () => (await listSkillJobs(s.db, 'flaky')).find((j) => j.taskId === t.id && j.attempts >= 2), 'the indexing to be retried');
        expect(job.lastError).toMatch(m === 'fail' ? /503/ : /did not answer within 200 ms/);
        expect(calls).toBeGreaterThan(before);
        expect((await client.tasks.get(t.id)).status).toBe('completed');
      }
      mode = 'ok';
      await until(async () => (await listSkillJobs(s.db, 'flaky')).length === 0, 'the retried jobs to succeed', 20_000);
      const skills = await client.skills.list();
      // Both tasks indexed (the mock's vectors are near-identical, so the second may bump the first).
      expect(skills.items.every((x) => x.embeddingModel === 'openai/mock-embed')).toBe(true);
      expect(skills.items.reduce((n, x) => n + x.usageCount, 0)).toBe(2);
    } finally {
      await d.stop();
    }
  }, 60_000);
});

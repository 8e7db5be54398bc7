/**
 * The skill library's data: dedup, models side by side, re-embedding (also
 * when the process doing it is killed), archive and restore.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/config.js';
import { createTestDb, dbKind, type TestDb } from '../helpers/db.js';
import { tempDir } from '../helpers/daemon.js';
import { track, untrack } from '../helpers/leaks.js';
import { until } from '../helpers/wait.js';
import { TEST_MODEL_DIR } from '../helpers/server.js';
import { openStore } from '../../src/store/open.js';
import { createHashProvider } from '../../src/skills/hashProvider.js';
import { beginReembed, reembedStatus, runReembed } from '../../src/skills/reembed.js';
import { createSkillService, type SkillService } from '../../src/skills/skillService.js';
import { activeModel, exactNearest, modelSearchState, nearestSkill, nearestSkills, saveCalibration } from '../../src/store/skills.js';
import { exclusively } from '../../src/store/exclusive.js';
import { CalibrationStopped, calibrateEffort, calibrateWhenDue } from '../../src/skills/calibrate.js';
import { CALIBRATION, efSearchFor, worstRecall } from '../../src/skills/searchEffort.js';
import { createWorkspace } from '../../src/store/workspaces.js';

const log = pino({ level: 'silent' });
let db: TestDb;
let svc: SkillService;
const archiveDir = tempDir('sy-archive-');

beforeAll(async () => {
  db = await createTestDb();
  svc = createSkillService({ db, log, config: testConfig(), modelDir: TEST_MODEL_DIR, archiveDir, defaultEmbedding: { provider: 'hash' } });
});
afterAll(async () => {
  await svc?.stop();
  await db?.close();
});

const rows = async (ws: string) =>
  (await db.query(`SELECT id, name, description, usage_count, created_at, last_used_at, source_task_id, agent, model, metadata, embedding::text AS embedding, embedding_model, dims FROM skills WHERE workspace_id = $1 ORDER BY id`, [ws])).rows;

describe('skills in the database', () => {
  it('bumps the usage of a near-duplicate instead of inserting it', async () => {
    await createWorkspace(db, { id: 'dedup' });
    const a = await svc.add('dedup', { name: 'Fix JWT expiry check', description: 'exp compared in milliseconds instead of seconds in session.ts' });
    const b = await svc.add('dedup', { name: 'Fix JWT expiry check', description: 'exp compared in milliseconds instead of seconds in session.ts.' });
    const c = await svc.add('dedup', { name: 'Fix CSV export quoting', description: 'addresses with commas shift columns' });
    expect(a.merged).toBe(false);
    expect(b).toEqual({ id: a.id, merged: true });
    expect(c.merged).toBe(false);
    const r = await rows('dedup');
    expect(r).toHaveLength(2);
    expect(r.find((x) => x.id === a.id)!.usage_count).toBe(2);
  });

  it('keeps two models side by side, and a query only ever compares vectors of the active model', async () => {
    await createWorkspace(db, { id: 'two-models', settings: { embedding: { provider: 'hash' } } });
    await createWorkspace(db, { id: 'other-model', settings: { embedding: { provider: 'hash', dims: 64 } } });
    await svc.add('two-models', { name: 'Fix session cookie on logout', description: 'clearCookie used another path' });
    await svc.add('other-model', { name: 'Fix session cookie on logout', description: 'clearCookie used another path' });
    const models = (await db.query('SELECT id, dims, index_name FROM skill_models ORDER BY id')).rows;
    expect(models.map((m) => [m.id, m.dims])).toEqual(expect.arrayContaining([['hash/words-trigrams-256/1', 256], ['hash/words-trigrams-64/1', 64]]));
    const indexes = (await db.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'skills' AND indexname LIKE 'skills_emb_%'`)).rows.map((r) => r.indexname);
    for (const m of models) expect(indexes).toContain(m.index_name);
    // A 64-dim row placed in the 256-dim workspace must never be compared (or crash the cast).
    await db.query(`INSERT INTO skills (workspace_id, name, description, embedding, embedding_model, dims) SELECT 'two-models', 'Fix session cookie on logout', 'clearCookie used another path', embedding, embedding_model, dims FROM skills WHERE workspace_id = 'other-model'`);
    const hits = await svc.search('two-models', 'session cookie logout', 10);
    const byModel = await rows('two-models');
    const foreign = byModel.find((r) => r.dims === 64)!;
    expect(hits.find((h) => h.id === foreign.id)?.similarity ?? null).toBeNull(); // found by full text only
    expect(hits.filter((h) => h.similarity !== null).every((h) => h.embeddingModel === 'hash/words-trigrams-256/1')).toBe(true);
  });

  it('re-embeds every skill with a new model; the old vectors answer queries until the swap', async () => {
    await createWorkspace(db, { id: 'reembed', settings: { embedding: { provider: 'hash' } } });
    await svc.import('reembed', Array.from({ length: 25 }, (_, i) => ({ name: `Skill ${i} about topic${i}`, description: `fix problem${i} in module${i}.ts` })));
    expect(await activeModel(db, 'reembed')).toBe('hash/words-trigrams-256/1');
    const target = createHashProvider({ dims: 128 });
    await beginReembed(db, 'reembed', { id: target.id, provider: 'hash', dims: 128 });
    let seenDuring = -1;
    await runReembed({ db, log, batchSize: 10, onProgress: async () => void (seenDuring = (await svc.search('reembed', 'problem3 module3', 3)).length) }, 'reembed', {
      ...target,
      embed: async (t) => {
        // Mid-run: still the old model, still answering.
        expect(await activeModel(db, 'reembed')).toBe('hash/words-trigrams-256/1');
        return target.embed(t);
      },
    });
    expect(seenDuring).toBeGreaterThan(0);
    const after = await rows('reembed');
    expect(after).toHaveLength(25);
    expect(new Set(after.map((r) => r.embedding_model))).toEqual(new Set([target.id]));
    expect(after.every((r) => r.dims === 128)).toBe(true);
    expect(await activeModel(db, 'reembed')).toBe(target.id);
    expect(await reembedStatus(db, 'reembed')).toMatchObject({ state: 'done', done: 25, total: 25 });
    expect((await db.query(`SELECT count(*)::int AS n FROM skill_reembed_vectors`)).rows[0]!.n).toBe(0);
  });

  it('resumes a re-embedding whose process was killed mid-run', async () => {
    await createWorkspace(db, { id: 'killed', settings: { embedding: { provider: 'hash' } } });
    await svc.import('killed', Array.from({ length: 60 }, (_, i) => ({ name: `Killed ${i} alpha${i}`, description: `beta${i} gamma${i}` })));
    const before = await rows('killed');
    // The child needs the database to itself on PGlite: hand it over through a data folder.
    let target: string;
    let local: TestDb = db;
    if (dbKind() === 'pglite') {
      target = join(tempDir('sy-reembed-'), 'pgdata');
      const dump = await db.dumpEmbedded!();
      const copy = await openStore({ kind: 'pglite', dataDir: target, loadDataDir: dump });
      await copy.close();
    } else {
      target = db.url!;
    }
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/reembed-child.ts', import.meta.url)), target, 'killed', '96', '150'], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child, 'reembed child');
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      for (let i = 0; i < 300 && !/progress (2|3|4)\d\//.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      child.kill('SIGKILL');
      await exited;
      untrack(child);
    }
    expect(out).toMatch(/progress/);
    expect(out).not.toContain('done');
    if (dbKind() === 'pglite') local = (await openStore({ kind: 'pglite', dataDir: target })) as TestDb;
    try {
      const status = await reembedStatus(local, 'killed');
      expect(status.state).toBe('running');
      expect(status.done).toBeGreaterThan(0);
      expect(status.done).toBeLessThan(60);
      const staged = Number((await local.query(`SELECT count(*)::int AS n FROM skill_reembed_vectors WHERE workspace_id = 'killed'`)).rows[0]!.n);
      const target96 = createHashProvider({ dims: 96 });
      let embedded = 0;
      await runReembed({ db: local, log, batchSize: 10 }, 'killed', { ...target96, embed: async (t) => ((embedded += t.length), target96.embed(t)) });
      expect(embedded).toBe(60 - staged); // resumed: staged vectors were kept
      const after = (await local.query(`SELECT id, name, embedding_model, dims FROM skills WHERE workspace_id = 'killed' ORDER BY id`)).rows;
      expect(after.map((r) => [r.id, r.name])).toEqual(before.map((r) => [r.id, r.name]));
      expect(after.every((r) => r.embedding_model === target96.id && r.dims === 96)).toBe(true);
    } finally {
      if (local !== db) await local.close();
    }
  }, 60_000);

  it('archives stale skills to gzipped JSON lines and restores them exactly', async () => {
    await createWorkspace(db, { id: 'archive', skillRetentionDays: 30 });
    await svc.import('archive', [
      { name: 'Old one', description: 'unused for a long time', metadata: { team: 'core', n: [1, 2] } },
      { name: 'Old two', description: 'also unused' },
      { name: 'Fresh', description: 'used yesterday' },
    ]);
    await db.query(`UPDATE skills SET last_used_at = now() - interval '40 days', usage_count = 7 WHERE workspace_id = 'archive' AND name LIKE 'Old%'`);
    const before = (await rows('archive')).filter((r) => String(r.name).startsWith('Old'));
    const r = await svc.archive('archive');
    expect(r.archived).toBe(2);
    expect(readdirSync(archiveDir)).toEqual([r.file]);
    expect((await rows('archive')).map((x) => x.name)).toEqual(['Fresh']);
    expect(await svc.search('archive', 'unused for a long time', 5)).not.toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Old one' })]));
    const restored = await svc.restore('archive', { file: r.file! });
    expect(restored).toEqual({ restored: 2, skipped: 0 });
    const after = (await rows('archive')).filter((x) => String(x.name).startsWith('Old'));
    expect(after).toEqual(before);
    expect(await svc.restore('archive', { file: r.file! })).toEqual({ restored: 0, skipped: 2 });
    // Another workspace cannot name this one's archive.
    await createWorkspace(db, { id: 'thief' });
    await expect(svc.restore('thief', { file: r.file! })).rejects.toThrow(/not found/);
    await expect(svc.restore('archive', { file: `../${r.file}` })).rejects.toThrow(/not found/);
  });

  it('knows how large a model\'s graph has grown, so queries of a large library search harder', async () => {
    // A model of its own (32 dimensions), so other tests' skills are not in its graph.
    await createWorkspace(db, { id: 'effort', settings: { embedding: { provider: 'hash', dims: 32 } } });
    const model = { id: 'hash/words-trigrams-32/1', provider: 'hash', dims: 32 };
    expect(await modelSearchState(db, model.id)).toEqual({ graphSize: 0 });
    await svc.add('effort', { name: 'Fix flaky upload test', description: 'the tmp dir was shared between workers' });
    // The index was made for the first skill; bulk imports refresh the estimate the effort reads.
    const imported = await svc.import('effort', Array.from({ length: 40 }, (_, i) => ({ name: `Playbook ${i}`, description: `step ${i}: rotate key ${i * 7919} in service-${i}` })));
    expect(imported.created).toBeGreaterThan(20);
    expect((await modelSearchState(db, model.id)).graphSize).toBe(1 + imported.created);
    expect(await svc.maintain()).toMatchObject({ analyzed: true });
    // The effort reaches pgvector: nearestSkill sets it for its transaction only.
    const [probe] = await db.query<{ v: string }>(`SELECT embedding::text AS v FROM skills WHERE workspace_id = 'effort' LIMIT 1`).then((r) => r.rows);
    const inside = await db.tx(async (q) => {
      const near = await nearestSkill(q, 'effort', model, probe!.v, efSearchFor(100_000));
      return { near, ef: (await q.query<{ ef: string }>(`SELECT current_setting('hnsw.ef_search') AS ef`)).rows[0]!.ef };
    });
    expect(inside.near?.distance).toBeCloseTo(0, 5);
    expect(Number(inside.ef)).toBe(efSearchFor(100_000));
    // After the transaction the setting is gone (on PGlite this is the very same session).
    const after = (await db.query<{ ef: string | null }>(`SELECT current_setting('hnsw.ef_search', true) AS ef`)).rows[0]!.ef;
    expect(after).not.toBe(String(efSearchFor(100_000)));
    if (dbKind() === 'pglite') expect(after).toBe('40');
  });
  it('measures the effort a graph needs against an exact scan, each query within its own workspace, and stores it', async () => {
    // Two workspaces share a model (and its graph) of their own.
    const model = { id: 'hash/words-trigrams-24/1', provider: 'hash', dims: 24 };
    // The same texts in both: a measurement that looked across workspaces would find the other's copies and lose recall.
    for (const ws of ['cal-a', 'cal-b']) {
      await createWorkspace(db, { id: ws, settings: { embedding: { provider: 'hash', dims: 24 } } });
      await svc.import(ws, Array.from({ length: 30 }, (_, i) => ({ name: `upload fix ${i}`, description: `upload step ${i}: patch module-${i * 31} and rerun suite ${i % 7}` })));
    }
    const n = Number((await db.query<{ n: number }>(`SELECT count(*) AS n FROM skills WHERE embedding_model = $1`, [model.id])).rows[0]!.n);
    expect(n).toBeGreaterThan(40);
    const samples = (await db.query<{ workspace_id: string; v: string }>(`(SELECT workspace_id, embedding::text AS v FROM skills WHERE workspace_id = 'cal-a' ORDER BY name LIMIT 12)
       UNION ALL (SELECT workspace_id, embedding::text AS v FROM skills WHERE workspace_id = 'cal-b' ORDER BY name LIMIT 12)`)).rows.map((r) => ({ workspaceId: r.workspace_id, vector: r.v }));
    expect(new Set(samples.map((x) => x.workspaceId)).size).toBe(2);

    const rules = { ...CALIBRATION, ladder: [10, 40, 1000], minUsable: 10, minPerWorkspace: 5 };
    const c = await calibrateEffort(db, model, samples, { rules });
    expect([10, 40, 1000]).toContain(c.ef);
    expect(c.recall).toBeGreaterThanOrEqual(CALIBRATION.target);
    expect(c).toMatchObject({ graphSize: n, samples: 24, usable: 24, stored: true });
    // Its recall is the one an independent measurement at that effort gives, and every neighbour is of the query's workspace.
    const exact = await Promise.all(samples.map((x) => exactNearest(db, x.workspaceId, model, x.vector, 3)));
    const found = [];
    for (const x of samples) {
      const near = await db.tx((q) => nearestSkills(q, x.workspaceId, model, x.vector, 3, c.ef));
      expect(near).toHaveLength(3);
      const owners = await db.query<{ workspace_id: string }>('SELECT DISTINCT workspace_id FROM skills WHERE id = ANY ($1::uuid[])', [near.map((n) => n.id)]);
      expect(owners.rows.map((r) => r.workspace_id)).toEqual([x.workspaceId]);
      found.push(near.map((n) => n.id));
    }
    expect(worstRecall(samples.map((x) => x.workspaceId), exact, found, rules.minPerWorkspace)).toBe(c.recall);
    const stored = (await modelSearchState(db, model.id)).calibration!;
    expect(stored).toMatchObject({ ef: c.ef, graphSize: n, samples: 24 });
    expect(stored.recall).toBeCloseTo(c.recall, 5);
    expect(efSearchFor(n, stored)).toBe(efSearchFor(n)); // a graph this small keeps the base effort

    // A target no effort reaches gives the ladder's top; a stopped measurement stores nothing.
    expect(await calibrateEffort(db, model, samples, { rules: { ...rules, target: 1.01, ladder: [10, 1000] } })).toMatchObject({ ef: 1000, recall: 1 });
    await expect(calibrateEffort(db, model, samples, { rules, stop: () => true })).rejects.toBeInstanceOf(CalibrationStopped);
    expect((await modelSearchState(db, model.id)).calibration).toMatchObject({ ef: 1000, recall: 1 });
    // Queries of a workspace with fewer than three skills have nothing to miss: they do not count, and too few that do store nothing.
    await createWorkspace(db, { id: 'cal-tiny', settings: { embedding: { provider: 'hash', dims: 24 } } });
    await svc.import('cal-tiny', [{ name: 'lonely', description: 'the only upload fix here' }]);
    const tiny = samples.map((x) => ({ ...x, workspaceId: 'cal-tiny' }));
    await expect(calibrateEffort(db, model, [...tiny, ...samples.slice(0, 9)], { rules })).rejects.toMatchObject({ usable: 9, kept: 33 });
    expect((await modelSearchState(db, model.id)).calibration).toMatchObject({ ef: 1000, recall: 1 });
    // An older measurement finishing late does not replace a newer one.
    expect(await saveCalibration(db, model.id, { ef: 40, recall: 0.99, graphSize: n, samples: 24, at: new Date(Date.now() - 3600_000) })).toBe(false);
    expect((await modelSearchState(db, model.id)).calibration).toMatchObject({ ef: 1000 });
    // Measured only when due, and by one server at a time: while another holds the model's lock, it stands aside (PostgreSQL; the embedded database is one process).
    expect(await calibrateWhenDue(db, model, samples, { rules })).toBe('current');
    const due = { ...rules, minGraphSize: 10, sampleSize: samples.length, maxAgeMs: 0 };
    const held = await exclusively(db, `skill-calibration:${model.id}`, () => calibrateWhenDue(db, model, samples, { rules: due }));
    if (dbKind() === 'postgres') expect(held).toEqual({ ran: true, value: 'busy' });
    else expect(held).toMatchObject({ ran: true, value: { stored: true } });
    expect(await calibrateWhenDue(db, model, samples, { rules: due })).toMatchObject({ graphSize: (await modelSearchState(db, model.id)).graphSize, stored: true });
  });

  it('calibrates a model in the background once it has served enough queries', async () => {
    const model = 'hash/words-trigrams-24/1';
    const before = (await modelSearchState(db, model)).calibration?.at.getTime() ?? 0;
    // maxAgeMs 0: the calibration the test before stored counts as old.
    const rules = { ...CALIBRATION, minGraphSize: 10, sampleSize: 4, minUsable: 4, minPerWorkspace: 2, maxAgeMs: 0, ladder: [10, 1000] };
    const own = createSkillService({ db, log, config: testConfig(), modelDir: TEST_MODEL_DIR, archiveDir, defaultEmbedding: { provider: 'hash' }, calibration: rules });
    try {
      // A workspace without skills of the model has nothing to find: its searches are not kept.
      await createWorkspace(db, { id: 'cal-empty', settings: { embedding: { provider: 'hash', dims: 24 } } });
      for (const text of ['upload fix 1', 'upload fix 2', 'upload fix 3', 'upload fix 4', 'upload fix 5']) await own.search('cal-empty', text, 3);
      // Nor is a query asked again counted twice.
      for (const text of ['upload fix 3', 'patch module-62', 'rerun suite 4', 'rerun suite 4']) await own.search('cal-a', text, 3);
      await own.idle();
      expect((await modelSearchState(db, model)).calibration?.at.getTime() ?? 0).toBe(before); // three distinct queries are too few
      await own.search('cal-b', 'upload step 9', 3);
      await until(async () => ((await modelSearchState(db, model)).calibration?.at.getTime() ?? 0) > before, 'the background calibration');
      const c = (await modelSearchState(db, model)).calibration!;
      expect(c).toMatchObject({ samples: 4, graphSize: (await modelSearchState(db, model)).graphSize });
      expect([10, 1000]).toContain(c.ef);
      expect(c.recall).toBeGreaterThanOrEqual(CALIBRATION.target);
    } finally {
      await own.stop();
    }
  });
});

/**
 * Speed of the skill library (issue 5):
 *  - top-3 search latency p50/p99 with 10k and 100k skills in one workspace,
 *    on PGlite and PostgreSQL: the hybrid SQL query alone, and the whole
 *    real path (embed the prompt, query, re-rank) as the API runs it;
 *  - the plain top-3 vector query at the server's search effort (calibrated
 *    on held-out queries above 10k vectors, as the server does), with its
 *    recall@3 against an exact scan (target on PostgreSQL at 100k: p99 ≤
 *    10 ms, recall ≥ 0.95), and what other efforts would give;
 *  - the local provider's throughput (sentences/s) and memory.
 * Skills are synthetic coding-task texts made from the quality set (two
 * corpora, see `synthetic`), embedded with the local provider. Prints
 * numbers; asserts nothing.
 *
 * Usage: node --import tsx bench/skills-speed.ts [--quick] [--sizes 10000,100000] [--backends pglite,postgres] [--corpora bags,library]
 */
import { join } from 'node:path';
import pino from 'pino';
import { dataDirFrom } from '../src/cli/env.js';
import { createLocalProvider } from '../src/skills/localProvider.js';
import { createSkillService } from '../src/skills/skillService.js';
import { embedText } from '../src/skills/skillText.js';
import { toSqlVector } from '../src/skills/types.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open.js';
import { calibrateEffort } from '../src/skills/calibrate.js';
import { CALIBRATION, efSearchFor } from '../src/skills/searchEffort.js';
import { ensureModel, exactNearest, modelIndexName, modelSearchState, insertSkills, searchSkills, setActiveModel } from '../src/store/skills.js';
import { createWorkspace } from '../src/store/workspaces.js';
import { config, machine, opt, percentile, quick, report, type Figure } from './lib.js';
import { loadQualitySet } from './skills-quality.js';

const sizes = (opt('--sizes') ?? (quick ? '2000' : '10000,100000')).split(',').map(Number);
const backends = (opt('--backends') ?? (process.env.DATABASE_URL && !quick ? 'pglite,postgres' : 'pglite')).split(',') as ('pglite' | 'postgres')[];
const corpora = (opt('--corpora') ?? 'bags,library').split(',') as Corpus[];
const modelDir = join(dataDirFrom(undefined), 'models');
const log = pino({ level: 'warn' });

/** Deterministic pseudo-random numbers, so every run builds the same skills. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

type Corpus = 'bags' | 'library';

/**
 * Synthetic skills, in one of two shapes:
 *  - `bags`: each description is a random bag of the quality set's words.
 *    No structure at all, so every skill is about as far from a query as
 *    every other (the nearest 20 of a query lie within a few hundredths of
 *    cosine distance): the worst case for an approximate index.
 *  - `library`: shaped like a library grown from real tasks. Each skill is a
 *    variant of one of the quality set's 360 hand-written skills, from a
 *    component chosen with a skew (some parts of a codebase get far more
 *    tasks): a quarter of its words swapped for words of the same component
 *    or of any, sometimes a sentence about another component appended, and
 *    its own number in the name.
 */
function synthetic(n: number, corpus: Corpus): { name: string; description: string }[] {
  const set = loadQualitySet();
  const words = [...new Set(set.skills.flatMap((s) => `${s.name} ${s.description}`.split(/\s+/)))];
  const r = rng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  if (corpus === 'bags') {
    const names = set.skills.map((s) => s.name);
    return Array.from({ length: n }, (_, i) => {
      const base = pick(names);
      const desc = Array.from({ length: 18 + Math.floor(r() * 20) }, () => pick(words)).join(' ');
      return { name: `${base} #${i}`, description: desc };
    });
  }
  const byFamily = new Map<string, typeof set.skills>();
  for (const s of set.skills) byFamily.set(s.id.split('#')[0]!, [...(byFamily.get(s.id.split('#')[0]!) ?? []), s]);
  const families = [...byFamily.values()];
  const familyWords = families.map((f) => [...new Set(f.flatMap((s) => `${s.name} ${s.description}`.split(/\s+/)))]);
  const sentences = set.skills.flatMap((s) => s.description.split(/(?<=\.) /));
  return Array.from({ length: n }, (_, i) => {
    const f = Math.floor(r() ** 2 * families.length);
    const base = pick(families[f]!);
    const desc = base.description
      .split(' ')
      .map((w) => (r() < 0.25 ? (r() < 0.6 ? pick(familyWords[f]!) : pick(words)) : w))
      .join(' ');
    return { name: `${base.name} #${i}`, description: r() < 0.5 ? `${desc} ${pick(sentences)}` : desc };
  });
}

async function open(backend: 'pglite' | 'postgres'): Promise<Db> {
  if (backend === 'pglite') return openStore({ kind: 'pglite' });
  const db = await openStore({ kind: 'postgres', connection: { connectionString: process.env.DATABASE_URL!, max: 4 }, describe: 'bench' });
  await db.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public; CREATE EXTENSION IF NOT EXISTS vector');
  return db;
}

async function speed(backend: 'pglite' | 'postgres', size: number, corpus: Corpus, figures: Figure[]): Promise<void> {
  const db = await open(backend);
  await migrate(db);
  await createWorkspace(db, { id: 'speed', settings: { embedding: { provider: 'local' } } });
  const provider = createLocalProvider({ modelDir });
  const model = { id: provider.id, provider: 'local', dims: provider.dims };
  const texts = synthetic(size, corpus);
  // Registered first (the rows reference it); its index is built after loading.
  await db.query('INSERT INTO skill_models (id, provider, dims, index_name) VALUES ($1, $2, $3, $4)', [model.id, 'local', model.dims, modelIndexName(model.id)]);
  const t0 = Date.now();
  for (let i = 0; i < texts.length; i += 1000) {
    const chunk = texts.slice(i, i + 1000);
    const vecs = await provider.embed(chunk.map(embedText));
    await insertSkills(db, chunk.map((s, j) => ({ workspaceId: 'speed', name: s.name, description: s.description, embedding: toSqlVector(vecs[j]!), embeddingModel: model.id, dims: model.dims })));
  }
  const loadMs = Date.now() - t0;
  // The index built once over the loaded rows (as for a re-embedded workspace), not row by row.
  const t1 = Date.now();
  if (backend === 'postgres') await db.query(`SET maintenance_work_mem = '512MB'`);
  await ensureModel(db, model);
  await setActiveModel(db, 'speed', model.id);
  await db.query('ANALYZE skills');
  // A library in service has been vacuumed: without it autovacuum would work through the fresh 100k rows during the measurement.
  if (backend === 'postgres') await db.query('VACUUM skills');
  const indexMs = Date.now() - t1;

  // Two disjoint sets of queries of about the same mix: one in five or six
  // is a prompt of the quality set (a paraphrase: the hard kind), the rest
  // are the opening words of skills in the library. The server calibrates its effort on the queries
  // it served; here the second set stands in for those.
  const set = loadQualitySet();
  const openings = (from: number, to: number) => synthetic(to, corpus).slice(from).map((s) => s.description.split(' ').slice(0, 12).join(' '));
  const prompts = set.queries.map((q) => q.text);
  const queries = [...prompts.filter((_, i) => i % 3 !== 0), ...openings(0, 200)].slice(0, quick ? 60 : 240);
  const held = [...prompts.filter((_, i) => i % 3 === 0), ...openings(200, 280)];
  const qvecs = (await provider.embed(queries)).map(toSqlVector);
  // The effort the server would use for this graph (src/skills/searchEffort.ts):
  // above 10k vectors it calibrates on the queries it served; here on 100
  // queries shaped like the measured ones but not among them.
  const { graphSize } = await modelSearchState(db, model.id);
  const prior = efSearchFor(graphSize);
  let calibration: Awaited<ReturnType<typeof calibrateEffort>> | undefined;
  let calibrationMs = 0;
  if (graphSize > CALIBRATION.minGraphSize) {
    const samples = (await provider.embed(held)).map((v) => ({ workspaceId: 'speed', vector: toSqlVector(v) }));
    const c0 = Date.now();
    calibration = await calibrateEffort(db, model, samples);
    calibrationMs = Date.now() - c0;
  }
  const ef = efSearchFor(graphSize, calibration);
  const exact: string[][] = [];
  for (const v of qvecs) exact.push(await exactNearest(db, 'speed', model, v, 3));
  /** The plain top-3 vector query at one ef_search: latency of its transaction, and recall@3 against the exact scan. */
  const topK = async (efSearch: number) => {
    const times: number[] = [];
    let hits = 0;
    for (let i = 0; i < qvecs.length; i++) {
      const s0 = performance.now();
      const ids = await db.tx(async (q) => {
        await q.query(`SET LOCAL hnsw.ef_search = ${efSearch}`);
        await q.query('SET LOCAL hnsw.iterative_scan = relaxed_order');
        return (await q.query<{ id: string }>(`SELECT id FROM skills WHERE workspace_id = 'speed' AND embedding_model = '${model.id}' AND archived_at IS NULL ORDER BY embedding::vector(${model.dims}) <=> $1::vector(${model.dims}) LIMIT 3`, [qvecs[i]!])).rows.map((r) => r.id);
      });
      if (i >= 10) times.push(performance.now() - s0); // 10 warm-up queries
      hits += exact[i]!.filter((id) => ids.includes(id)).length;
    }
    return { p50: percentile(times, 50), p99: percentile(times, 99), recall: hits / (qvecs.length * 3), n: times.length };
  };
  const top = await topK(ef);
  const sqlTimes: number[] = [];
  for (let i = 0; i < queries.length; i++) {
    const s0 = performance.now();
    await searchSkills(db, { workspaceId: 'speed', model, vector: qvecs[i]!, text: queries[i]!, vectorCandidates: 40, textCandidates: 40, efSearch: ef });
    if (i >= 10) sqlTimes.push(performance.now() - s0);
  }
  const service = createSkillService({ db, log, config: config(), modelDir, archiveDir: '/nonexistent' });
  const fullTimes: number[] = [];
  for (let i = 0; i < queries.length; i++) {
    const s0 = performance.now();
    await service.search('speed', queries[i]!, 3);
    if (i >= 10) fullTimes.push(performance.now() - s0);
  }
  await service.stop();
  const plan = (await db.query(`EXPLAIN SELECT id FROM skills WHERE workspace_id = 'speed' AND embedding_model = '${model.id}' ORDER BY embedding::vector(${model.dims}) <=> '${qvecs[0]!}'::vector(${model.dims}) LIMIT 3`)).rows.map((r) => String(r['QUERY PLAN'])).join(' ');
  const label = `${backend} ${size >= 1000 ? `${size / 1000}k` : size} ${corpus}`;
  const effortNote = calibration
    ? `ef_search ${ef}, calibrated on ${calibration.samples} other queries (recall ${calibration.recall.toFixed(3)} there; tried ${calibration.tried.map((t) => t.ef).join(', ')})`
    : `ef_search ${ef}, the server's effort for ${size} vectors`;
  const added: Figure[] = [
    { bench: 'skills-speed', figure: `${label} top-3 vector query p50`, value: top.p50, unit: 'ms', note: `${top.n} queries, ${effortNote}, ${plan.includes('skills_emb_') ? 'HNSW index' : 'no index used'}` },
    { bench: 'skills-speed', figure: `${label} top-3 vector query p99`, value: top.p99, unit: 'ms' },
    { bench: 'skills-speed', figure: `${label} recall@3 (HNSW vs exact)`, value: top.recall, unit: '', note: `ef_search ${ef}` },
    { bench: 'skills-speed', figure: `${label} search SQL p50`, value: percentile(sqlTimes, 50), unit: 'ms', note: `${sqlTimes.length} queries, the hybrid query (vector + full text) at ef_search ${ef}` },
    { bench: 'skills-speed', figure: `${label} search SQL p99`, value: percentile(sqlTimes, 99), unit: 'ms' },
    { bench: 'skills-speed', figure: `${label} search full path p50`, value: percentile(fullTimes, 50), unit: 'ms', note: 'embed prompt + SQL + re-rank, as the API' },
    { bench: 'skills-speed', figure: `${label} search full path p99`, value: percentile(fullTimes, 99), unit: 'ms' },
    { bench: 'skills-speed', figure: `${label} load (embed + insert)`, value: loadMs, unit: 'ms' },
    { bench: 'skills-speed', figure: `${label} HNSW build`, value: indexMs, unit: 'ms' },
    ...(calibration ? [{ bench: 'skills-speed', figure: `${label} effort calibration`, value: calibrationMs, unit: 'ms', note: `${calibration.samples} queries × exact scan + ${calibration.tried.length} efforts; chose ${calibration.ef} (size prior ${prior})` }] : []),
  ];
  // What other efforts would give on this graph: the trade the server's choice sits on.
  if (!quick) {
    for (const other of [...new Set([100, 200, 400, prior])].filter((x) => x !== ef)) {
      const t = await topK(other);
      added.push({ bench: 'skills-speed', figure: `${label} top-3 at ef_search ${other}: p99 / recall@3`, value: t.p99, unit: 'ms', note: `recall@3 ${t.recall.toFixed(3)}, p50 ${t.p50.toFixed(2)} ms` });
    }
  }
  figures.push(...added);
  report(added);
  await db.close();
}

async function throughput(figures: Figure[]): Promise<void> {
  const before = process.memoryUsage().rss;
  const provider = createLocalProvider({ modelDir });
  const t0 = Date.now();
  await provider.embed(['warm up: loads the word vectors']);
  const loadMs = Date.now() - t0;
  const loaded = process.memoryUsage().rss;
  const texts = synthetic(quick ? 2000 : 10000, 'bags').map(embedText);
  const t1 = performance.now();
  await provider.embed(texts);
  const secs = (performance.now() - t1) / 1000;
  figures.push(
    { bench: 'skills-speed', figure: 'local embedding throughput', value: texts.length / secs, unit: 'sentences/s', note: `${texts.length} skill texts of ~40 words, one core` },
    { bench: 'skills-speed', figure: 'local model load', value: loadMs, unit: 'ms', note: 'converted file already in the data folder' },
    { bench: 'skills-speed', figure: 'local model memory (RSS growth)', value: (loaded - before) / 2 ** 20, unit: 'MiB' },
  );
  report(figures.slice(-3));
}

process.stdout.write(`skills-speed on ${machine()}\n`);
const figures: Figure[] = [];
await throughput(figures);
for (const size of sizes) for (const b of backends) for (const c of corpora) await speed(b, size, c, figures);
process.stdout.write('\nall figures:\n');
report(figures);

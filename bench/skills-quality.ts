/**
 * Retrieval quality of the skill library (issue 5): a labelled set written
 * for this (bench/data/skills-quality.txt: 60 component families of 6
 * look-alike skills — same files, same verbs, different problems — and 60
 * paraphrased prompts, each naming the skill it should find among all 360).
 *
 * Measured through the real path: skills are imported with the skill
 * service (embedding, dedup, insert), and each prompt is searched with the
 * same call the API makes (hybrid: vectors of the workspace's model fused
 * with PostgreSQL full text, then re-ranked). Prints hit@1 and hit@3 per
 * provider; `openai` runs when SWITCHYARD_BENCH_OPENAI_URL (and
 * SWITCHYARD_BENCH_OPENAI_MODEL, optionally OPENAI_API_KEY) are set.
 *
 * Usage: node --import tsx bench/skills-quality.ts [--quick] [--pg|--pglite]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { dataDirFrom } from '../src/cli/env.js';
import { createSkillService } from '../src/skills/skillService.js';
import type { EmbeddingSettings } from '../src/skills/providers.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open.js';
import { createWorkspace } from '../src/store/workspaces.js';
import { backendArg, config, machine, quick, report, ROOT, type Figure } from './lib.js';

export interface QualitySet {
  skills: { id: string; name: string; description: string }[];
  queries: { text: string; expect: string }[];
}

export function loadQualitySet(path = join(ROOT, 'bench/data/skills-quality.txt')): QualitySet {
  const set: QualitySet = { skills: [], queries: [] };
  let family = '';
  let n = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.startsWith('## ')) {
      family = line.slice(3).trim();
      n = 0;
    } else if (line.startsWith('- ')) {
      const [name, description] = line.slice(2).split(' :: ');
      set.skills.push({ id: `${family}#${n++}`, name: name!.trim(), description: (description ?? '').trim() });
    } else if (line.startsWith('? ')) {
      const m = /^\? (.*) => (\d+)$/.exec(line);
      if (m) set.queries.push({ text: m[1]!, expect: `${family}#${m[2]}` });
    }
  }
  return set;
}

async function measure(name: string, settings: EmbeddingSettings, set: QualitySet, figures: Figure[]): Promise<void> {
  const backend = backendArg();
  const db =
    backend === 'postgres'
      ? await openStore({ kind: 'postgres', connection: { connectionString: process.env.DATABASE_URL!, max: 4 }, describe: 'bench' })
      : await openStore({ kind: 'pglite' });
  if (backend === 'postgres') await db.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public; CREATE EXTENSION IF NOT EXISTS vector');
  await migrate(db);
  await createWorkspace(db, { id: 'quality', settings: { embedding: settings } });
  const service = createSkillService({
    db,
    log: pino({ level: 'warn' }),
    config: config(),
    modelDir: join(dataDirFrom(undefined), 'models'),
    archiveDir: '/nonexistent',
  });
  try {
    const started = Date.now();
    const result = await service.import('quality', set.skills.map((s) => ({ name: s.name, description: s.description, metadata: { label: s.id } })));
    const importMs = Date.now() - started;
    const labelOf = new Map<string, string>();
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const page = await service.list('quality', 500, cursor);
      for (const s of page.items) labelOf.set(s.id, String(s.metadata.label));
      cursor = page.nextCursor ?? undefined;
    }
    let hit1 = 0;
    let hit3 = 0;
    const misses: string[] = [];
    const queries = quick ? set.queries.slice(0, 20) : set.queries;
    const t0 = Date.now();
    for (const q of queries) {
      const hits = await service.search('quality', q.text, 3);
      const labels = hits.map((h) => labelOf.get(h.id));
      if (labels[0] === q.expect) hit1++;
      if (labels.includes(q.expect)) hit3++;
      else misses.push(`${q.expect}: "${q.text.slice(0, 60)}…" → ${labels.join(', ')}`);
    }
    const perQuery = (Date.now() - t0) / queries.length;
    const note = `${queries.length} prompts, ${set.skills.length} skills, ${result.merged} merged as duplicates, ${backend}`;
    figures.push(
      { bench: 'skills-quality', figure: `${name} hit@1`, value: hit1 / queries.length, unit: '', note },
      { bench: 'skills-quality', figure: `${name} hit@3`, value: hit3 / queries.length, unit: '' },
      { bench: 'skills-quality', figure: `${name} import`, value: importMs, unit: 'ms', note: `${set.skills.length} skills, real path` },
      { bench: 'skills-quality', figure: `${name} search per prompt`, value: perQuery, unit: 'ms' },
    );
    if (process.argv.includes('--misses')) process.stderr.write(`${name} misses:\n  ${misses.join('\n  ')}\n`);
  } finally {
    await service.stop();
    await db.close();
  }
}

async function main(): Promise<void> {
  const set = loadQualitySet();
  process.stdout.write(`skills-quality on ${machine()}\n`);
  const figures: Figure[] = [];
  await measure('hash', { provider: 'hash' }, set, figures);
  await measure('local', { provider: 'local' }, set, figures);
  const url = process.env.SWITCHYARD_BENCH_OPENAI_URL;
  const model = process.env.SWITCHYARD_BENCH_OPENAI_MODEL;
  if (url && model) await measure('openai', { provider: 'openai', base_url: url, model }, set, figures);
  else process.stdout.write('(openai skipped: set SWITCHYARD_BENCH_OPENAI_URL and SWITCHYARD_BENCH_OPENAI_MODEL to measure an embedding endpoint)\n');
  report(figures);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

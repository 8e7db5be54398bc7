/**
 * The skill library's tables: skills, the model registry with its per-model
 * partial HNSW indexes, each workspace's active model, and hybrid search.
 */
import { createHash } from 'node:crypto';
import type { Skill } from '../core/api.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Calibration } from '../skills/searchEffort.js';
import { PgCode, pgErrorCode, type Db, type Queryable } from './db.js';
import { iso, type DbRow } from './rows.js';
import { sql } from './sql.js';

/** provider/model[/version]: letters, digits and . _ - : / only, so it can be written into index definitions. */
export const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*(\/[A-Za-z0-9._:-]+){1,3}$/;

export interface ModelInfo {
  id: string;
  provider: string;
  dims: number;
}

export function modelIndexName(id: string): string {
  return `skills_emb_${createHash('sha1').update(id).digest('hex').slice(0, 12)}`;
}

function checkModel(m: ModelInfo): void {
  if (!MODEL_ID.test(m.id) || m.id.length > 200) throw new ValidationError(`embedding model id "${m.id}" must look like provider/model[/version]`);
  if (!Number.isInteger(m.dims) || m.dims < 1 || m.dims > 2000) throw new ValidationError(`embedding dimensions must be 1–2000 (an HNSW limit), got ${m.dims}`);
}

/** Fills {{dims}} and {{model}} of a statement with a checked model's values. */
export function forModel(text: string, m: ModelInfo): string {
  checkModel(m);
  return text.replaceAll('{{dims}}', String(m.dims)).replaceAll('{{model}}', `'${m.id}'`);
}

const known = new WeakMap<object, Set<string>>();

/**
 * Registers a model and creates its partial HNSW index, the first time the
 * model is used. Idempotent and safe against a concurrent server doing the
 * same (the clash is expected and tolerated).
 */
export async function ensureModel(db: Db, m: ModelInfo): Promise<void> {
  checkModel(m);
  const seen = known.get(db) ?? new Set<string>();
  known.set(db, seen);
  if (seen.has(m.id)) return;
  const index = modelIndexName(m.id);
  const { rows } = await db.query<{ dims: number }>(
    `INSERT INTO skill_models (id, provider, dims, index_name) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET id = excluded.id RETURNING dims`,
    [m.id, m.provider, m.dims, index],
  );
  if (rows[0] && Number(rows[0].dims) !== m.dims) throw new ValidationError(`model ${m.id} is registered with ${rows[0].dims} dimensions, not ${m.dims}; give the new one another version`);
  try {
    await db.query(
      // m = 24, ef_construction = 200: with pgvector's defaults (16, 64) recall@3 at
      // ef_search 100 was 0.89 on 10k skills; these give 0.98 (bench/skills-speed.ts).
      forModel(`CREATE INDEX IF NOT EXISTS ${index} ON skills USING hnsw ((embedding::vector({{dims}})) vector_cosine_ops) WITH (m = 24, ef_construction = 200) WHERE embedding_model = {{model}}`, m),
    );
  } catch (err) {
    const code = pgErrorCode(err);
    // Two servers creating it at once: one wins, the other sees a duplicate.
    if (code !== PgCode.duplicateTable && code !== PgCode.uniqueViolation && code !== PgCode.duplicateObject) throw err;
  }
  seen.add(m.id);
}

export async function getModel(q: Queryable, id: string): Promise<ModelInfo | undefined> {
  const { rows } = await q.query<{ id: string; provider: string; dims: number }>('SELECT id, provider, dims FROM skill_models WHERE id = $1', [id]);
  return rows[0] ? { id: rows[0].id, provider: rows[0].provider, dims: Number(rows[0].dims) } : undefined;
}

/** The model a workspace's queries use; undefined before its first skill. */
export async function activeModel(q: Queryable, workspaceId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ model: string }>('SELECT model FROM skill_spaces WHERE workspace_id = $1', [workspaceId]);
  return rows[0]?.model;
}

/** Sets the workspace's model unless it has one (first use). Answers the model in force. */
export async function claimActiveModel(q: Queryable, workspaceId: string, model: string): Promise<string> {
  const { rows } = await q.query<{ model: string }>(
    `INSERT INTO skill_spaces (workspace_id, model) VALUES ($1, $2)
     ON CONFLICT (workspace_id) DO UPDATE SET workspace_id = excluded.workspace_id RETURNING model`,
    [workspaceId, model],
  );
  return rows[0]!.model;
}

export async function setActiveModel(q: Queryable, workspaceId: string, model: string): Promise<void> {
  await q.query(
    `INSERT INTO skill_spaces (workspace_id, model) VALUES ($1, $2)
     ON CONFLICT (workspace_id) DO UPDATE SET model = excluded.model, updated_at = now()`,
    [workspaceId, model],
  );
}

export function toSkill(r: DbRow): Skill {
  return {
    id: String(r.id),
    workspaceId: String(r.workspace_id),
    name: String(r.name),
    description: String(r.description),
    usageCount: Number(r.usage_count),
    createdAt: iso(r.created_at),
    lastUsedAt: iso(r.last_used_at),
    sourceTaskId: r.source_task_id ? String(r.source_task_id) : null,
    agent: r.agent ? String(r.agent) : null,
    model: r.model ? String(r.model) : null,
    metadata: (r.metadata as Record<string, unknown> | null) ?? {},
    embeddingModel: r.embedding_model ? String(r.embedding_model) : null,
  };
}

const COLUMNS = 'id, workspace_id, name, description, usage_count, created_at, last_used_at, source_task_id, agent, model, metadata, embedding_model, dims';

export interface NewSkill {
  id?: string;
  workspaceId: string;
  name: string;
  description: string;
  usageCount?: number;
  createdAt?: string;
  lastUsedAt?: string;
  sourceTaskId?: string | null;
  agent?: string | null;
  model?: string | null;
  metadata?: Record<string, unknown>;
  /** pgvector text form. */
  embedding: string | null;
  embeddingModel: string | null;
  dims: number | null;
}

/** Inserts skills in one statement; rows whose id exists already are skipped (restore is idempotent). */
export async function insertSkills(q: Queryable, skills: readonly NewSkill[]): Promise<Skill[]> {
  if (skills.length === 0) return [];
  const { rows } = await q.query(
    `INSERT INTO skills (id, workspace_id, name, description, usage_count, created_at, last_used_at, source_task_id, agent, model, metadata, embedding, embedding_model, dims)
     SELECT coalesce(x.id, gen_random_uuid()), x.workspace_id, x.name, x.description, coalesce(x.usage_count, 1),
            coalesce(x.created_at, now()), coalesce(x.last_used_at, now()), x.source_task_id, x.agent, x.model,
            coalesce(x.metadata, '{}'), x.embedding::vector, x.embedding_model, x.dims
     FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, workspace_id text, name text, description text, usage_count integer,
          created_at timestamptz, last_used_at timestamptz, source_task_id uuid, agent text, model text, metadata jsonb,
          embedding text, embedding_model text, dims integer)
     ON CONFLICT (id) DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      JSON.stringify(
        skills.map((s) => ({
          id: s.id ?? null,
          workspace_id: s.workspaceId,
          name: s.name,
          description: s.description,
          usage_count: s.usageCount ?? null,
          created_at: s.createdAt ?? null,
          last_used_at: s.lastUsedAt ?? null,
          source_task_id: s.sourceTaskId ?? null,
          agent: s.agent ?? null,
          model: s.model ?? null,
          metadata: s.metadata ?? {},
          embedding: s.embedding,
          embedding_model: s.embeddingModel,
          dims: s.dims,
        })),
      ),
    ],
  );
  return rows.map(toSkill);
}

export async function getSkill(q: Queryable, workspaceId: string, id: string): Promise<Skill | undefined> {
  const { rows } = await q.query(`SELECT ${COLUMNS} FROM skills WHERE id = $1 AND workspace_id = $2 AND archived_at IS NULL`, [id, workspaceId]);
  return rows[0] ? toSkill(rows[0]) : undefined;
}

export async function requireSkill(q: Queryable, workspaceId: string, id: string): Promise<Skill> {
  const s = await getSkill(q, workspaceId, id);
  if (!s) throw new NotFoundError('skill', id);
  return s;
}

export async function deleteSkill(q: Queryable, workspaceId: string, id: string): Promise<void> {
  const { rowCount } = await q.query('DELETE FROM skills WHERE id = $1 AND workspace_id = $2', [id, workspaceId]);
  if (!rowCount) throw new NotFoundError('skill', id);
}

/** Most recently used first, keyset-paginated on (last_used_at, id). */
export async function listSkills(q: Queryable, workspaceId: string, limit: number, cursor?: string): Promise<{ items: Skill[]; nextCursor: string | null }> {
  let after: [string, string] | null = null;
  if (cursor) {
    const decoded = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
    if (decoded.length !== 2 || Number.isNaN(Date.parse(decoded[0]!))) throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'not a cursor this server made' }]);
    after = [decoded[0]!, decoded[1]!];
  }
  const { rows } = await q.query(
    `SELECT ${COLUMNS} FROM skills
     WHERE workspace_id = $1 AND archived_at IS NULL
       AND ($2::timestamptz IS NULL OR (last_used_at, id) < ($2::timestamptz, $3::uuid))
     ORDER BY last_used_at DESC, id DESC LIMIT $4`,
    [workspaceId, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  const items = rows.slice(0, limit).map(toSkill);
  const last = items[items.length - 1];
  const nextCursor = rows.length > limit && last ? Buffer.from(`${last.lastUsedAt}|${last.id}`).toString('base64url') : null;
  return { items, nextCursor };
}

export async function countSkills(q: Queryable, workspaceId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*) AS n FROM skills WHERE workspace_id = $1 AND archived_at IS NULL', [workspaceId]);
  return Number(rows[0]?.n ?? 0);
}

/** Whether the workspace has any skill to suggest (one index probe, unlike a count). */
export async function hasSkills(q: Queryable, workspaceId: string): Promise<boolean> {
  const { rows } = await q.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM skills WHERE workspace_id = $1 AND archived_at IS NULL) AS any', [workspaceId]);
  return rows[0]?.any === true;
}

/** One more use now: a near-duplicate was indexed, or a suggestion was given to an agent. */
export async function bumpUsage(q: Queryable, workspaceId: string, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const { rowCount } = await q.query(
    'UPDATE skills SET usage_count = usage_count + 1, last_used_at = now() WHERE workspace_id = $1 AND id = ANY ($2::uuid[]) AND archived_at IS NULL',
    [workspaceId, ids],
  );
  return rowCount ?? 0;
}

/**
 * What sets a model's search effort: about how many vectors its HNSW graph
 * holds (all workspaces share it), as the planner's row estimate of its
 * index, and its last calibration. CREATE INDEX sets the estimate, and
 * ANALYZE (`analyzeSkills`, after bulk changes and in the hourly maintenance)
 * and autovacuum update it. Size 0 when the model has no index yet.
 */
export interface ModelSearchState {
  graphSize: number;
  calibration?: Calibration;
}

const SEARCH_STATE = `SELECT m.id, c.reltuples AS n, m.ef_search, m.calibrated_recall, m.calibrated_size, m.calibrated_samples, m.calibrated_at
  FROM skill_models m LEFT JOIN pg_class c ON c.oid = to_regclass(m.index_name)`;

function toSearchState(r: DbRow | undefined): ModelSearchState {
  const graphSize = Math.max(0, Number(r?.n ?? 0));
  if (!r || r.ef_search === null || r.calibrated_at === null) return { graphSize };
  return {
    graphSize,
    calibration: { ef: Number(r.ef_search), recall: Number(r.calibrated_recall), graphSize: Number(r.calibrated_size), samples: Number(r.calibrated_samples), at: new Date(iso(r.calibrated_at)) },
  };
}

export async function modelSearchState(q: Queryable, modelId: string): Promise<ModelSearchState> {
  return toSearchState((await q.query<DbRow>(`${SEARCH_STATE} WHERE m.id = $1`, [modelId])).rows[0]);
}

/** Every registered model's search state, for the metrics. */
export async function modelSearchStates(q: Queryable): Promise<Map<string, ModelSearchState>> {
  const { rows } = await q.query<DbRow>(`${SEARCH_STATE} ORDER BY m.id`);
  return new Map(rows.map((r) => [String(r.id), toSearchState(r)]));
}

/** Stores a measured effort, unless a newer measurement is already stored (two servers finishing out of order). */
export async function saveCalibration(q: Queryable, modelId: string, c: Calibration): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE skill_models SET ef_search = $2, calibrated_recall = $3, calibrated_size = $4, calibrated_samples = $5, calibrated_at = $6
     WHERE id = $1 AND (calibrated_at IS NULL OR calibrated_at < $6)`,
    [modelId, c.ef, c.recall, Math.round(c.graphSize), c.samples, c.at.toISOString()],
  );
  return (rowCount ?? 0) > 0;
}

/** Refreshes the planner's statistics of the skills table and its indexes (graph sizes included). */
export async function analyzeSkills(q: Queryable): Promise<void> {
  await q.query('ANALYZE skills');
}

/** Run inside a transaction: `efSearch` is set for it (SET LOCAL), then the k nearest skills are found by the model's index. */
export async function nearestSkills(q: Queryable, workspaceId: string, m: ModelInfo, vector: string, k: number, efSearch?: number): Promise<{ id: string; distance: number }[]> {
  if (efSearch !== undefined) await q.query(`SET LOCAL hnsw.ef_search = ${clampEf(efSearch)}`);
  // A workspace sharing the model's graph with others still gets its k rows.
  await q.query('SET LOCAL hnsw.iterative_scan = relaxed_order');
  const { rows } = await q.query<{ id: string; distance: number }>(forModel(sql('skills_nearest'), m), [workspaceId, vector, k]);
  return rows.map((r) => ({ id: r.id, distance: Number(r.distance) }));
}

/** The nearest skill, for deduplication (in a transaction, as `nearestSkills`). */
export async function nearestSkill(q: Queryable, workspaceId: string, m: ModelInfo, vector: string, efSearch?: number): Promise<{ id: string; distance: number } | undefined> {
  return (await nearestSkills(q, workspaceId, m, vector, 1, efSearch))[0];
}

export interface SearchHit {
  skill: Skill;
  vectorRank: number | null;
  textRank: number | null;
  similarity: number | null;
}

export interface SearchParams {
  workspaceId: string;
  model: ModelInfo;
  vector: string;
  text: string;
  vectorCandidates?: number;
  textCandidates?: number;
  textBudget?: number;
  efSearch?: number;
}

/** An integer pgvector accepts for hnsw.ef_search (SET takes no parameters, so it is written into the statement). */
function clampEf(ef: number): number {
  return Number.isFinite(ef) ? Math.max(10, Math.min(1000, Math.trunc(ef))) : 100;
}

/** The hybrid query (src/store/sql/skills_search.sql), in a short transaction that sets the HNSW scan options. */
export async function searchSkills(db: Db, p: SearchParams): Promise<SearchHit[]> {
  const text = forModel(sql('skills_search'), p.model);
  const ef = clampEf(p.efSearch ?? 100);
  // A text budget of 300 documents: at 10k skills ranking ~1,900 full-text
  // matches cost ~40 ms of the query's 70 (EXPLAIN ANALYZE); hit@3 of the
  // quality set went from 0.93 to 0.90 (bench/skills-quality.ts).
  const rows = await db.tx(async (q) => {
    await q.query(`SET LOCAL hnsw.ef_search = ${ef}`);
    await q.query(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
    return (await q.query(text, [p.workspaceId, p.vector, p.text, p.vectorCandidates ?? 40, p.textCandidates ?? 40, p.textBudget ?? 300])).rows;
  });
  return rows.map((r) => ({
    skill: toSkill(r),
    vectorRank: r.vector_rank === null ? null : Number(r.vector_rank),
    textRank: r.text_rank === null ? null : Number(r.text_rank),
    similarity: r.similarity === null ? null : Number(r.similarity),
  }));
}

/** Exact nearest neighbours (no index): the reference recall is measured against (src/skills/calibrate.ts, bench/skills-speed.ts). */
export async function exactNearest(db: Db, workspaceId: string, m: ModelInfo, vector: string, k: number): Promise<string[]> {
  const text = forModel(
    `SELECT id FROM skills WHERE workspace_id = $1 AND embedding_model = {{model}} AND archived_at IS NULL
     ORDER BY (embedding::vector({{dims}}) <=> $2::vector({{dims}})) + 0, id LIMIT $3`,
    m,
  );
  return db.tx(async (q) => {
    await q.query('SET LOCAL enable_indexscan = off');
    return (await q.query<{ id: string }>(text, [workspaceId, vector, k])).rows.map((r) => r.id);
  });
}

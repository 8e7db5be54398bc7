/**
 * Re-embedding a workspace's skills with another model. New vectors are
 * computed in batches into `skill_reembed_vectors`, never into `skills`, so
 * the workspace keeps querying its old vectors all along; when every skill
 * has a new vector they are swapped in with one transaction, and the
 * workspace's active model changes with them. Progress lives in the
 * database: a run that is killed resumes where it stopped (already staged
 * vectors are kept). Two servers resuming the same run only repeat work;
 * the swap checks the run is still `running` under a row lock, so it happens once.
 */
import type { Logger } from 'pino';
import type { ReembedStatus } from '../core/api.js';
import { coerceError } from '../core/errors.js';
import type { Db } from '../store/db.js';
import { activeModel, ensureModel, setActiveModel, type ModelInfo } from '../store/skills.js';
import { embedText } from './skillText.js';
import { toSqlVector, type EmbeddingProvider } from './types.js';

export interface ReembedDeps {
  db: Db;
  log: Logger;
  batchSize?: number;
  /** Failed batches are retried this many times before the run is marked failed. */
  batchRetries?: number;
  onProgress?: (s: { workspaceId: string; done: number; total: number }) => void;
}

export async function reembedStatus(db: Db, workspaceId: string): Promise<ReembedStatus> {
  const active = (await activeModel(db, workspaceId)) ?? null;
  const { rows } = await db.query('SELECT * FROM skill_reembeds WHERE workspace_id = $1', [workspaceId]);
  const r = rows[0];
  if (!r) return { workspaceId, activeModel: active, toModel: null, state: 'idle', total: 0, done: 0, error: null, startedAt: null, finishedAt: null };
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v ? String(v) : null);
  return {
    workspaceId,
    activeModel: active,
    toModel: String(r.to_model),
    state: r.state as ReembedStatus['state'],
    total: Number(r.total),
    done: Number(r.done),
    error: r.error ? String(r.error) : null,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

/** Records a run (or keeps the running one for the same model). Answers false when another model's run is in progress. */
export async function beginReembed(db: Db, workspaceId: string, model: ModelInfo): Promise<boolean> {
  await ensureModel(db, model);
  return db.tx(async (q) => {
    const { rows } = await q.query<{ to_model: string; state: string }>('SELECT to_model, state FROM skill_reembeds WHERE workspace_id = $1 FOR UPDATE', [workspaceId]);
    const cur = rows[0];
    if (cur && cur.state === 'running' && cur.to_model !== model.id) return false;
    if (cur && cur.state === 'running') return true;
    // A different target than a previous failed run: its staged vectors are of another model.
    if (cur && cur.to_model !== model.id) await q.query('DELETE FROM skill_reembed_vectors WHERE workspace_id = $1', [workspaceId]);
    const total = await q.query<{ n: number }>('SELECT count(*) AS n FROM skills WHERE workspace_id = $1 AND archived_at IS NULL', [workspaceId]);
    await q.query(
      `INSERT INTO skill_reembeds (workspace_id, to_model, state, total, done) VALUES ($1, $2, 'running', $3, 0)
       ON CONFLICT (workspace_id) DO UPDATE SET to_model = excluded.to_model, state = 'running', total = excluded.total,
         done = (SELECT count(*) FROM skill_reembed_vectors v WHERE v.workspace_id = $1), error = NULL, started_at = now(), updated_at = now(), finished_at = NULL`,
      [workspaceId, model.id, Number(total.rows[0]?.n ?? 0)],
    );
    return true;
  });
}

/** Runs (or resumes) the workspace's re-embedding to completion. Throws when a batch keeps failing; the run is then `failed`. */
export async function runReembed(deps: ReembedDeps, workspaceId: string, provider: EmbeddingProvider, signal?: AbortSignal): Promise<void> {
  const { db, log } = deps;
  const batch = deps.batchSize ?? 100;
  const model = provider.id;
  let registered = false;
  for (;;) {
    signal?.throwIfAborted();
    const { rows } = await db.query<{ id: string; name: string; description: string }>(
      `SELECT s.id, s.name, s.description FROM skills s
       WHERE s.workspace_id = $1 AND s.archived_at IS NULL AND s.embedding_model IS DISTINCT FROM $2
         AND NOT EXISTS (SELECT 1 FROM skill_reembed_vectors v WHERE v.skill_id = s.id)
       ORDER BY s.id LIMIT $3`,
      [workspaceId, model, batch],
    );
    if (rows.length === 0) {
      if (await finish(db, workspaceId, provider, registered)) return;
      continue; // skills were added meanwhile: embed them too
    }
    let vectors: Float32Array[] | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        vectors = await provider.embed(rows.map(embedText), signal);
        break;
      } catch (err) {
        if (signal?.aborted || attempt >= (deps.batchRetries ?? 3)) {
          const message = coerceError(err).message;
          await db.query(`UPDATE skill_reembeds SET state = 'failed', error = $2, updated_at = now() WHERE workspace_id = $1 AND state = 'running'`, [workspaceId, message.slice(0, 2000)]);
          throw err;
        }
        log.warn({ err: coerceError(err), workspaceId, attempt: attempt + 1 }, 're-embedding batch failed; retrying');
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
    if (!registered) {
      await ensureModel(db, { id: model, provider: provider.provider, dims: vectors[0]!.length });
      registered = true;
    }
    const { rows: prog } = await db.query<{ done: number; total: number }>(
      `WITH staged AS (
         INSERT INTO skill_reembed_vectors (skill_id, workspace_id, embedding)
         SELECT x.id, $1, x.v::vector FROM unnest($2::uuid[], $3::text[]) AS x(id, v)
         ON CONFLICT (skill_id) DO UPDATE SET embedding = excluded.embedding
         RETURNING 1
       )
       UPDATE skill_reembeds SET
         done = (SELECT count(*) FROM skill_reembed_vectors WHERE workspace_id = $1) + (SELECT count(*) FROM staged),
         total = greatest(total, (SELECT count(*) FROM skills WHERE workspace_id = $1 AND archived_at IS NULL)),
         updated_at = now()
       WHERE workspace_id = $1
       RETURNING done, total`,
      [workspaceId, rows.map((r) => r.id), vectors.map(toSqlVector)],
    );
    deps.onProgress?.({ workspaceId, done: Number(prog[0]?.done ?? 0), total: Number(prog[0]?.total ?? 0) });
  }
}

/** The swap: every staged vector into `skills`, the active model changed, the run done — or nothing, if skills are still missing. */
async function finish(db: Db, workspaceId: string, provider: EmbeddingProvider, registered: boolean): Promise<boolean> {
  if (!registered) {
    // Nothing needed embedding (every skill already had the model): the model must still be known.
    const dims = provider.dims || (await provider.embed(['dimensions']))[0]!.length;
    await ensureModel(db, { id: provider.id, provider: provider.provider, dims });
  }
  return db.tx(async (q) => {
    const { rows } = await q.query<{ state: string }>('SELECT state FROM skill_reembeds WHERE workspace_id = $1 FOR UPDATE', [workspaceId]);
    if (rows[0]?.state !== 'running') return true; // another server finished it
    const missing = await q.query<{ n: number }>(
      `SELECT count(*) AS n FROM skills s WHERE s.workspace_id = $1 AND s.archived_at IS NULL AND s.embedding_model IS DISTINCT FROM $2
         AND NOT EXISTS (SELECT 1 FROM skill_reembed_vectors v WHERE v.skill_id = s.id)`,
      [workspaceId, provider.id],
    );
    if (Number(missing.rows[0]?.n ?? 0) > 0) return false;
    const dims = await q.query<{ d: number }>('SELECT dims AS d FROM skill_models WHERE id = $1', [provider.id]);
    await q.query(
      `UPDATE skills s SET embedding = v.embedding, embedding_model = $2, dims = $3
       FROM skill_reembed_vectors v WHERE v.skill_id = s.id AND s.workspace_id = $1`,
      [workspaceId, provider.id, Number(dims.rows[0]!.d)],
    );
    await q.query('DELETE FROM skill_reembed_vectors WHERE workspace_id = $1', [workspaceId]);
    await setActiveModel(q, workspaceId, provider.id);
    await q.query(
      `UPDATE skill_reembeds SET state = 'done', done = total, error = NULL, updated_at = now(), finished_at = now()
       WHERE workspace_id = $1`,
      [workspaceId],
    );
    return true;
  });
}

export async function runningReembeds(db: Db): Promise<{ workspaceId: string; toModel: string }[]> {
  const { rows } = await db.query<{ workspace_id: string; to_model: string }>(`SELECT workspace_id, to_model FROM skill_reembeds WHERE state = 'running'`);
  return rows.map((r) => ({ workspaceId: r.workspace_id, toModel: r.to_model }));
}

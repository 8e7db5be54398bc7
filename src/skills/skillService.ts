/**
 * The skill library as the server uses it: suggestions before a run,
 * indexing after one, search and management for the API. Embeddings go
 * through the workspace's provider; the model that queries use is the
 * workspace's *active* model (skill_spaces), which only a finished
 * re-embedding changes — so a config change never leaves a workspace
 * querying vectors it does not have.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ArchivedSkill, ImportResult, ReembedStatus, SkillHit, Task } from '../core/api.js';
import type { Orchestrator } from '../core/config/index.js';
import { ConflictError, coerceError } from '../core/errors.js';
import type { Db } from '../store/db.js';
import { enqueueEmbedSkills, enqueueIndexTask, type SkillJob } from '../store/skillJobs.js';
import {
  activeModel,
  bumpUsage,
  claimActiveModel,
  countSkills,
  deleteSkill,
  ensureModel,
  hasSkills,
  analyzeSkills,
  insertSkills,
  listSkills,
  nearestSkill,
  requireSkill,
  searchSkills,
  setActiveModel,
} from '../store/skills.js';
import { getTaskRow } from '../store/tasks.js';
import { requireWorkspace } from '../store/workspaces.js';
import { archiveStale, readArchiveFile } from './archive.js';
import { parseSettings, providerFor, settingsFromName, type EmbeddingSettings, type ProviderContext } from './providers.js';
import { rank } from './ranking.js';
import { createEffortService } from './effortService.js';
import type { CalibrationRules } from './searchEffort.js';
import { beginReembed, reembedStatus, runningReembeds, runReembed } from './reembed.js';
import { embedText, skillFromTask } from './skillText.js';
import { EmbeddingError, toSqlVector, type EmbeddingProvider } from './types.js';
import { createSkillWorker } from './worker.js';

export interface SkillServiceOptions {
  db: Db;
  log: Logger;
  config: Orchestrator;
  /** Where the local model's converted word vectors live (`<data dir>/models`). */
  modelDir: string;
  /** Where `archive` writes (`<data dir>/skill-archive` unless configured). */
  archiveDir: string;
  /** Provider of workspaces whose settings name none (default: local). */
  defaultEmbedding?: EmbeddingSettings;
  /** How long task creation waits for suggestions (default 500 ms). */
  suggestTimeoutMs?: number;
  jobBackoff?: { baseMs: number; capMs: number };
  jobPollMs?: number;
  openaiRetryBaseMs?: number;
  reembedBatchSize?: number;
  /** When and how the search effort is measured (default CALIBRATION). */
  calibration?: CalibrationRules;
}

export interface Suggestion {
  id: string;
  name: string;
  score: number;
  description: string;
}

export type SkillService = ReturnType<typeof createSkillService>;

export function createSkillService(o: SkillServiceOptions) {
  const { db, log, config } = o;
  const configured = config.workspace;
  const ctx: ProviderContext = {
    modelDir: o.modelDir,
    ...(configured?.embedding ? { openaiDefaults: configured.embedding } : {}),
    ...(o.openaiRetryBaseMs !== undefined ? { openaiRetryBaseMs: o.openaiRetryBaseMs } : {}),
  };
  const reembeds = new Map<string, Promise<void>>();
  const efforts = createEffortService({ db, log, ...(o.calibration ? { rules: o.calibration } : {}) });
  const warned = new Set<string>();
  let stopping = false;

  /** The provider the workspace's settings ask for (the config's key is used for the configured workspace). */
  async function configuredProvider(workspaceId: string): Promise<EmbeddingProvider> {
    const ws = await requireWorkspace(db, workspaceId);
    let s = parseSettings(ws.settings.embedding) ?? o.defaultEmbedding ?? { provider: 'local' };
    if (configured?.id === workspaceId && configured.embedding?.api_key && s.provider === 'openai') s = { ...s, api_key: configured.embedding.api_key };
    return providerFor(s, ctx);
  }

  /** The provider of the model the workspace's vectors are in (its configured one before the first skill). */
  async function activeProvider(workspaceId: string): Promise<EmbeddingProvider> {
    const wanted = await configuredProvider(workspaceId);
    const active = await activeModel(db, workspaceId);
    if (!active || active === wanted.id) return wanted;
    if ((await countSkills(db, workspaceId)) === 0) {
      await setActiveModel(db, workspaceId, wanted.id);
      return wanted;
    }
    if (!warned.has(workspaceId)) {
      warned.add(workspaceId);
      log.warn({ workspaceId, active, configured: wanted.id }, `workspace skills are embedded with ${active}; the configuration asks for ${wanted.id}. Run \`switchyard skill reembed --model ${wanted.id}\` to move them`);
    }
    return providerFor(settingsFromName(active, ctx), ctx);
  }

  /**
   * After bulk changes: the graph sizes that set the search effort are
   * statistics, so refresh them. A failure only leaves the effort as it was;
   * the work that came before it stands, so it is logged, not thrown.
   */
  async function refreshStatistics(): Promise<boolean> {
    try {
      await analyzeSkills(db);
      efforts.forget();
      return true;
    } catch (err) {
      log.warn({ err: coerceError(err) }, 'could not refresh the skill statistics; searches keep their current effort');
      return false;
    }
  }

  /** Every workspace with skills unused for longer than its `skillRetentionDays`. */
  async function archiveStaleEverywhere(): Promise<{ archived: number; files: string[] }> {
    const { rows } = await db.query<{ id: string; days: number }>(
      `SELECT DISTINCT s.workspace_id AS id, w.skill_retention_days AS days FROM skills s JOIN workspaces w ON w.id = s.workspace_id
       WHERE s.archived_at IS NULL AND s.last_used_at < now() - make_interval(days => w.skill_retention_days)`,
    );
    const out = { archived: 0, files: [] as string[] };
    for (const { id, days } of rows) {
      const r = await archiveWorkspace(id, Number(days));
      out.archived += r.archived;
      if (r.file) out.files.push(r.file);
    }
    return out;
  }

  async function archiveWorkspace(workspaceId: string, olderThanDays: number): Promise<{ archived: number; file: string | null }> {
    const r = await archiveStale(db, o.archiveDir, workspaceId, olderThanDays);
    if (r.archived) log.info({ workspaceId, archived: r.archived, file: r.file }, 'skills archived');
    return r;
  }

  async function search(workspaceId: string, text: string, limit: number): Promise<(SkillHit & { similarity: number | null; textRank: number | null })[]> {
    const provider = await activeProvider(workspaceId);
    const [vec] = await provider.embed([text]);
    const model = { id: provider.id, provider: provider.provider, dims: vec!.length };
    const n = Math.max(40, limit * 2);
    const vector = toSqlVector(vec!);
    const hits = await searchSkills(db, { workspaceId, model, vector, text, vectorCandidates: n, textCandidates: n, efSearch: await efforts.effortFor(model.id) });
    // Only a query that met the graph says anything about it (a workspace without vectors of this model has nothing to find).
    if (hits.some((h) => h.vectorRank !== null)) efforts.noteQuery(model, { workspaceId, vector });
    const align = new Map<string, number>();
    if (provider.rerank && hits.length > 0) {
      const scores = await provider.rerank(text, hits.map((h) => embedText(h.skill)));
      hits
        .map((h, i) => ({ id: h.skill.id, s: scores[i] ?? 0 }))
        .filter((x) => x.s > 0)
        .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : 1))
        .forEach((x, i) => align.set(x.id, i + 1));
    }
    const byId = new Map(hits.map((h) => [h.skill.id, h]));
    const ranked = rank(
      hits.map((h) => ({
        id: h.skill.id,
        vectorRank: h.vectorRank,
        textRank: h.textRank,
        alignRank: align.get(h.skill.id) ?? null,
        similarity: h.similarity,
        usageCount: h.skill.usageCount,
        lastUsedAt: new Date(h.skill.lastUsedAt),
      })),
      new Date(),
    );
    return ranked.slice(0, limit).map((r) => {
      const s = byId.get(r.id)!.skill;
      return {
        id: s.id,
        name: s.name,
        description: s.description,
        score: Number(r.score.toFixed(4)),
        usageCount: s.usageCount,
        embeddingModel: s.embeddingModel,
        lastUsedAt: s.lastUsedAt,
        sourceTaskId: s.sourceTaskId,
        similarity: r.similarity,
        textRank: r.textRank,
      };
    });
  }

  /** Adds a skill, or bumps the usage of a near-duplicate (cosine distance under the provider's threshold). */
  async function add(workspaceId: string, s: { name: string; description: string; metadata?: Record<string, unknown>; sourceTaskId?: string | null; agent?: string | null; model?: string | null }, provider?: EmbeddingProvider, vector?: Float32Array): Promise<{ id: string; merged: boolean }> {
    const p = provider ?? (await activeProvider(workspaceId));
    const vec = vector ?? (await p.embed([embedText(s)]))[0]!;
    const model = { id: p.id, provider: p.provider, dims: vec.length };
    await ensureModel(db, model);
    const v = toSqlVector(vec);
    const ef = await efforts.effortFor(model.id);
    return db.tx(async (q) => {
      // One writer per workspace at a time, so two near-copies indexed together cannot both be added.
      await q.query(`SELECT pg_advisory_xact_lock(hashtext('skills:' || $1))`, [workspaceId]);
      await claimActiveModel(q, workspaceId, p.id);
      const near = await nearestSkill(q, workspaceId, model, v, ef);
      if (near && near.distance <= p.dedupDistance) {
        await bumpUsage(q, workspaceId, [near.id]);
        return { id: near.id, merged: true };
      }
      const [created] = await insertSkills(q, [{ workspaceId, name: s.name, description: s.description, metadata: s.metadata ?? {}, sourceTaskId: s.sourceTaskId ?? null, agent: s.agent ?? null, model: s.model ?? null, embedding: v, embeddingModel: p.id, dims: vec.length }]);
      return { id: created!.id, merged: false };
    });
  }

  async function runJob(job: SkillJob): Promise<void> {
    if (job.kind === 'index_task') {
      const row = await getTaskRow(db, job.workspaceId, job.taskId!);
      if (!row || row.status !== 'completed') return; // deleted, or retried into another state: nothing to learn
      const made = skillFromTask({ prompt: String(row.prompt), resultText: row.result_text === null ? null : String(row.result_text) });
      const r = await add(job.workspaceId, { ...made, sourceTaskId: job.taskId, agent: String(row.assigned_agent), model: row.model === null ? null : String(row.model) });
      log.info({ workspaceId: job.workspaceId, taskId: job.taskId, skillId: r.id, merged: r.merged }, r.merged ? 'task matched a known skill; usage bumped' : 'task indexed as a skill');
      return;
    }
    const { rows } = await db.query('SELECT id, name, description FROM skills WHERE id = $1 AND workspace_id = $2', [job.skillId, job.workspaceId]);
    if (!rows[0]) return;
    const p = await activeProvider(job.workspaceId);
    const [vec] = await p.embed([embedText({ name: String(rows[0].name), description: String(rows[0].description) })]);
    await ensureModel(db, { id: p.id, provider: p.provider, dims: vec!.length });
    await db.query('UPDATE skills SET embedding = $3::vector, embedding_model = $4, dims = $5 WHERE id = $1 AND workspace_id = $2', [job.skillId, job.workspaceId, toSqlVector(vec!), p.id, vec!.length]);
  }

  const worker = createSkillWorker({ db, log: log.child({ role: 'skills' }), run: runJob, ...(o.jobPollMs ? { pollMs: o.jobPollMs } : {}), ...(o.jobBackoff ? { backoff: o.jobBackoff } : {}) });

  function startReembedRun(workspaceId: string, toModel: string): void {
    if (reembeds.has(workspaceId) || stopping) return;
    const provider = providerFor(settingsFromName(toModel, ctx), ctx);
    const run = runReembed({ db, log, batchSize: o.reembedBatchSize ?? 100 }, workspaceId, provider)
      .then(async () => {
        log.info({ workspaceId, model: toModel }, 're-embedding finished');
        await refreshStatistics();
      })
      .catch((err: unknown) => log.error({ err: coerceError(err), workspaceId, model: toModel }, 're-embedding failed; run it again to resume'))
      .finally(() => reembeds.delete(workspaceId));
    reembeds.set(workspaceId, run);
  }

  return {
    search,
    add,

    /** Top 3 for a new task: hits that share rare words with it or are similar enough to matter. */
    async suggest(workspaceId: string, prompt: string): Promise<Suggestion[]> {
      // Nothing to suggest yet: no embedding of the prompt (nor a model to load) on task creation.
      if (!(await hasSkills(db, workspaceId))) return [];
      const provider = await activeProvider(workspaceId);
      const hits = await search(workspaceId, prompt, 3);
      return hits
        .filter((h) => h.textRank !== null || (h.similarity ?? 0) >= provider.minSimilarity)
        .map((h) => ({ id: h.id, name: h.name, score: h.score ?? 0, description: h.description }));
    },

    /**
     * `suggest` for task creation, bounded by `suggestTimeoutMs`: a slow or
     * failing provider gives no suggestions rather than a slow or failed
     * task creation.
     */
    async suggestQuickly(workspaceId: string, prompt: string): Promise<Suggestion[]> {
      const ms = o.suggestTimeoutMs ?? 500;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
      try {
        const r = await Promise.race([this.suggest(workspaceId, prompt), timeout]);
        if (r === 'timeout') {
          log.warn({ workspaceId, timeoutMs: ms }, 'skill suggestions took too long; task created without them');
          return [];
        }
        return r;
      } catch (err) {
        log.warn({ err: coerceError(err), workspaceId }, 'skill suggestions failed; task created without them');
        return [];
      } finally {
        clearTimeout(timer);
      }
    },

    /** What the assign frame carries: suggestions with descriptions, and whether the prompt should include them. */
    async forAssign(t: Pick<Task, 'id' | 'workspaceId' | 'attempt' | 'suggestions'>): Promise<{ suggestions: Suggestion[]; injectSuggestions: boolean }> {
      if (t.suggestions.length === 0) return { suggestions: [], injectSuggestions: false };
      const ws = await requireWorkspace(db, t.workspaceId);
      const inject = ws.settings.injectSkills === true;
      const { rows } = await db.query<{ id: string; description: string }>('SELECT id, description FROM skills WHERE workspace_id = $1 AND id = ANY ($2::uuid[])', [t.workspaceId, t.suggestions.map((s) => s.id)]);
      const desc = new Map(rows.map((r) => [r.id, r.description]));
      const suggestions = t.suggestions.filter((s) => desc.has(s.id)).map((s) => ({ ...s, description: desc.get(s.id)! }));
      // Given to the agent = used; counted once per task (its first attempt).
      if (inject && suggestions.length > 0 && t.attempt === 1) await bumpUsage(db, t.workspaceId, suggestions.map((s) => s.id));
      return { suggestions, injectSuggestions: inject && suggestions.length > 0 };
    },

    /** Queues the indexing of a completed task; the worker does the work (and retries it). */
    async enqueueIndexing(taskId: string, workspaceId: string): Promise<void> {
      await enqueueIndexTask(db, workspaceId, taskId);
      worker.kick();
    },

    async import(workspaceId: string, items: { name: string; description: string; metadata?: Record<string, unknown> }[]): Promise<ImportResult> {
      const p = await activeProvider(workspaceId);
      const vectors = await p.embed(items.map(embedText));
      let created = 0;
      let merged = 0;
      for (let i = 0; i < items.length; i++) {
        const r = await add(workspaceId, items[i]!, p, vectors[i]);
        if (r.merged) merged++;
        else created++;
      }
      if (created > 0) await refreshStatistics();
      return { created, merged };
    },

    list: (workspaceId: string, limit: number, cursor?: string) => listSkills(db, workspaceId, limit, cursor),
    get: (workspaceId: string, id: string) => requireSkill(db, workspaceId, id),
    delete: (workspaceId: string, id: string) => deleteSkill(db, workspaceId, id),

    async startReembed(workspaceId: string, modelName: string): Promise<ReembedStatus> {
      await requireWorkspace(db, workspaceId);
      const provider = providerFor(settingsFromName(modelName, ctx), ctx);
      const dims = provider.dims || (await provider.embed(['dimensions']))[0]!.length;
      await ensureModel(db, { id: provider.id, provider: provider.provider, dims });
      if (!(await beginReembed(db, workspaceId, { id: provider.id, provider: provider.provider, dims }))) {
        const cur = await reembedStatus(db, workspaceId);
        throw new ConflictError(`a re-embedding to ${cur.toModel} is running in this workspace; wait for it to finish`);
      }
      // The configured provider follows, so new skills and queries use the new model once it is active.
      await db.query(`UPDATE workspaces SET settings = settings || jsonb_build_object('embedding', $2::jsonb), updated_at = now() WHERE id = $1`, [
        workspaceId,
        JSON.stringify(Object.fromEntries(Object.entries(settingsFromName(provider.id, ctx)).filter(([k, v]) => k !== 'api_key' && v !== undefined))),
      ]);
      startReembedRun(workspaceId, provider.id);
      return reembedStatus(db, workspaceId);
    },
    reembedStatus: (workspaceId: string) => reembedStatus(db, workspaceId),
    /** Resolves when the workspace's re-embedding running in this process ends. */
    reembedDone: (workspaceId: string) => reembeds.get(workspaceId) ?? Promise.resolve(),

    async archive(workspaceId: string, olderThanDays?: number): Promise<{ archived: number; file: string | null }> {
      const ws = await requireWorkspace(db, workspaceId);
      return archiveWorkspace(workspaceId, olderThanDays ?? ws.skillRetentionDays);
    },

    /**
     * The maintenance step: archives stale skills everywhere and refreshes the
     * statistics the search effort reads. PGlite has no autovacuum, and on
     * PostgreSQL a vacuum may skip the index cleanup that counts an index's rows.
     */
    async maintain(): Promise<{ archived: number; files: string[]; analyzed: boolean }> {
      const r = await archiveStaleEverywhere();
      return { ...r, analyzed: await refreshStatistics() };
    },

    async restore(workspaceId: string, from: { file?: string; records?: ArchivedSkill[] }): Promise<{ restored: number; skipped: number }> {
      await requireWorkspace(db, workspaceId);
      const records = from.records ?? readArchiveFile(o.archiveDir, workspaceId, from.file!);
      const active = await activeModel(db, workspaceId);
      for (const r of records) if (r.embeddingModel && r.dims) await ensureModel(db, { id: r.embeddingModel, provider: r.embeddingModel.split('/')[0]!, dims: r.dims });
      const inserted = await db.tx(async (q) => {
        const rows = await insertSkills(
          q,
          records.map((r) => ({
            ...r,
            workspaceId,
            embedding: r.embedding && r.embeddingModel ? `[${r.embedding.join(',')}]` : null,
            embeddingModel: r.embedding ? r.embeddingModel : null,
            dims: r.embedding ? r.dims : null,
          })),
        );
        if (!active && rows[0]?.embeddingModel) await claimActiveModel(q, workspaceId, rows[0].embeddingModel);
        // Vectors of another model than the workspace's are replaced in the background.
        const stale = rows.filter((s) => active && s.embeddingModel !== active).map((s) => s.id);
        await enqueueEmbedSkills(q, workspaceId, stale);
        return rows.length;
      });
      worker.kick();
      return { restored: inserted, skipped: records.length - inserted };
    },

    /** Starts the job worker and resumes re-embeddings a previous process left running. */
    async start(): Promise<void> {
      worker.kick();
      for (const r of await runningReembeds(db)) startReembedRun(r.workspaceId, r.toModel);
    },
    /** Until indexing is idle and no search-effort calibration started by this service is running. */
    async idle(): Promise<void> {
      await worker.idle();
      await efforts.settled();
    },
    async stop(): Promise<void> {
      stopping = true;
      await worker.stop();
      await efforts.stop();
      // A re-embedding in progress is left to resume on the next start; its batches are idempotent.
      await Promise.race([Promise.allSettled([...reembeds.values()]), new Promise((r) => setTimeout(r, 100))]);
    },
  };
}

export { EmbeddingError };
export const defaultModelDir = (dataDir: string) => join(dataDir, 'models');
export const defaultArchiveDir = (dataDir: string) => join(dataDir, 'skill-archive');

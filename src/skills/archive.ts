/**
 * Cold storage for skills nobody used for a workspace's retention period:
 * gzipped JSON lines (one skill per line, with its vector) in the archive
 * folder, removed from the hot table. Crash-safe in three steps: rows are
 * first marked `archived_at` (hidden from every query), then the file is
 * written under a temporary name and renamed, then the rows are deleted; a
 * run that dies in between leaves marked rows, which the next run writes
 * again. Restore inserts with the original ids and skips ids that exist.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { archivedSkill, type ArchivedSkill } from '../core/api.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { parseJsonLines } from '../core/jsonLines.js';
import type { Db } from '../store/db.js';

export async function archiveStale(db: Db, dir: string, workspaceId: string, olderThanDays: number): Promise<{ archived: number; file: string | null }> {
  const { rows } = await db.query(
    `UPDATE skills SET archived_at = coalesce(archived_at, now())
     WHERE workspace_id = $1 AND (archived_at IS NOT NULL OR last_used_at < now() - make_interval(days => $2))
     RETURNING id, workspace_id, name, description, usage_count, created_at, last_used_at, source_task_id, agent, model, metadata,
               embedding::text AS embedding, embedding_model, dims`,
    [workspaceId, olderThanDays],
  );
  if (rows.length === 0) return { archived: 0, file: null };
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));
  const lines = rows
    .sort((a, b) => String(a.id).localeCompare(String(b.id)))
    .map((r) => {
      const rec: ArchivedSkill = {
        id: String(r.id),
        workspaceId: String(r.workspace_id),
        name: String(r.name),
        description: String(r.description),
        usageCount: Number(r.usage_count),
        createdAt: iso(r.created_at),
        lastUsedAt: iso(r.last_used_at),
        sourceTaskId: r.source_task_id ? String(r.source_task_id) : null,
        agent: r.agent === null ? null : String(r.agent),
        model: r.model === null ? null : String(r.model),
        metadata: (r.metadata as Record<string, unknown>) ?? {},
        embedding: r.embedding ? (JSON.parse(String(r.embedding)) as number[]) : null,
        embeddingModel: r.embedding_model ? String(r.embedding_model) : null,
        dims: r.dims === null ? null : Number(r.dims),
      };
      return JSON.stringify(rec);
    });
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const name = `${workspaceId}-${stamp}-${randomBytes(3).toString('hex')}.jsonl.gz`;
  const tmp = join(dir, `.${name}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, gzipSync(`${lines.join('\n')}\n`));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  await db.query('DELETE FROM skills WHERE workspace_id = $1 AND id = ANY ($2::uuid[]) AND archived_at IS NOT NULL', [workspaceId, rows.map((r) => String(r.id))]);
  return { archived: rows.length, file: name };
}

/** Parses an archive's content (gzipped or plain JSON lines), checking every record. */
export function parseArchive(content: Buffer): ArchivedSkill[] {
  const text = content[0] === 0x1f && content[1] === 0x8b ? gunzipSync(content).toString('utf8') : content.toString('utf8');
  return parseJsonLines(text, archivedSkill, (m) => new ValidationError(m), 'archive');
}

/**
 * Reads an archive by its name in the archive folder. Only names this server
 * wrote for this workspace are accepted: no paths, and the workspace prefix
 * must match, so one workspace cannot restore (read) another's archive.
 */
export function readArchiveFile(dir: string, workspaceId: string, file: string): ArchivedSkill[] {
  if (basename(file) !== file || !file.startsWith(`${workspaceId}-`) || !/\.jsonl(\.gz)?$/.test(file)) throw new NotFoundError('archive', file);
  let content: Buffer;
  try {
    content = readFileSync(join(dir, file));
  } catch {
    throw new NotFoundError('archive', file);
  }
  return parseArchive(content);
}

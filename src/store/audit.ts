/**
 * The audit log: append-only records chained by SHA-256 per workspace
 * (DESIGN.md §6). Records are appended by `appendAudit` only — from task
 * transitions (src/store/tasks.ts) and from the API's state-changing calls
 * (src/server/audit.ts) — and never updated or deleted by the product;
 * `verifyAuditChain` finds the first record that was.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  auditHash,
  canonicalAroundSeq,
  GENESIS_HASH,
  jsonValue,
  type AuditBrokenLink,
  type AuditFields,
  type AuditRecord,
  type AuditVerification,
} from '../core/audit.js';
import type { Queryable } from './db.js';
import { iso, type DbRow } from './rows.js';
import { sql } from './sql.js';

/** Who did it: an API token (kind `user`) or one of the system's actors. */
export interface AuditActor {
  kind: string;
  tokenId: string | null;
  role: string | null;
  clientAddress: string | null;
}

export interface AuditEntry {
  workspaceId: string;
  actor: AuditActor;
  action: string;
  targetType: string | null;
  targetId: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  /** When it happened; default now. */
  at?: Date;
}

const requestActors = new AsyncLocalStorage<AuditActor>();

/**
 * Runs `fn` on behalf of an API caller. Transitions a user causes inside it
 * (cancel, retry, answer, create) are recorded with the caller's token, role
 * and address, without every service call having to pass them down.
 */
export function withAuditActor<T>(actor: AuditActor, fn: () => T): T {
  return requestActors.run(actor, fn);
}

/** The API caller this code runs for, if any. */
export function currentAuditActor(): AuditActor | undefined {
  return requestActors.getStore();
}

/**
 * Appends one record when the workspace has the audit log enabled.
 * `enabled`: what the caller already knows (true appends regardless of the
 * setting — e.g. the update that turned it off —, false skips without a
 * query); undefined looks it up in the same statement. Answers the record's
 * seq and hash, or undefined when nothing was appended.
 */
export async function appendAudit(q: Queryable, e: AuditEntry, enabled?: boolean): Promise<{ seq: number; hash: string } | undefined> {
  if (enabled === false) return undefined;
  const fields: Omit<AuditFields, 'seq'> = {
    workspaceId: e.workspaceId,
    at: (e.at ?? new Date()).toISOString(),
    actorKind: e.actor.kind,
    actorTokenId: e.actor.tokenId,
    actorRole: e.actor.role,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    // Hashed as they will read back from jsonb.
    before: jsonValue(e.before ?? null),
    after: jsonValue(e.after ?? null),
    clientAddress: e.actor.clientAddress,
  };
  const { head, tail } = canonicalAroundSeq(fields);
  const { rows } = await q.query<{ seq: number; hash: string }>(sql('audit_append'), [
    fields.workspaceId,
    head,
    tail,
    fields.at,
    fields.actorKind,
    fields.actorTokenId,
    fields.actorRole,
    fields.action,
    fields.targetType,
    fields.targetId,
    fields.before === null ? null : JSON.stringify(fields.before),
    fields.after === null ? null : JSON.stringify(fields.after),
    fields.clientAddress,
    enabled ?? null,
  ]);
  const r = rows[0];
  return r ? { seq: Number(r.seq), hash: r.hash } : undefined;
}

export function toAuditRecord(r: DbRow): AuditRecord {
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    workspaceId: String(r.workspace_id),
    seq: Number(r.seq),
    at: iso(r.at),
    actorKind: String(r.actor_kind),
    actorTokenId: str(r.actor_token_id),
    actorRole: str(r.actor_role),
    action: String(r.action),
    targetType: str(r.target_type),
    targetId: str(r.target_id),
    before: (r.before as Record<string, unknown> | null) ?? null,
    after: (r.after as Record<string, unknown> | null) ?? null,
    clientAddress: str(r.client_address),
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  };
}

/** A workspace's records, newest first; the cursor is the last seq of the previous page. */
export async function listAudit(q: Queryable, workspaceId: string, page: { limit: number; cursor?: string }): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
  const { rows } = await q.query(
    `SELECT * FROM audit_log WHERE workspace_id = $1 AND ($2::bigint IS NULL OR seq < $2)
     ORDER BY seq DESC, at DESC LIMIT $3`,
    [workspaceId, page.cursor ?? null, page.limit + 1],
  );
  const more = rows.length > page.limit;
  const items = (more ? rows.slice(0, page.limit) : rows).map(toAuditRecord);
  return { items, nextCursor: more ? String(items[items.length - 1]!.seq) : null };
}

/**
 * Walks a workspace's chain in order, recomputing every hash, and answers
 * the first broken link. Reads in pages, so a long chain never sits in
 * memory at once.
 */
export async function verifyAuditChain(q: Queryable, workspaceId: string, pageSize = 1000): Promise<AuditVerification> {
  const heads = await q.query('SELECT seq, hash, base_seq, base_hash FROM audit_heads WHERE workspace_id = $1', [workspaceId]);
  const head = heads.rows[0];
  const out: AuditVerification = {
    workspaceId,
    ok: true,
    checked: 0,
    firstSeq: null,
    lastSeq: null,
    headSeq: head ? Number(head.seq) : null,
    headHash: head ? String(head.hash) : null,
    broken: null,
  };
  const fail = (broken: AuditBrokenLink): AuditVerification => ({ ...out, ok: false, broken });
  // Retention may have dropped the oldest records: the chain then starts after the base.
  let expectSeq = head ? Number(head.base_seq) + 1 : 1;
  let expectPrev = head ? String(head.base_hash) : GENESIS_HASH;
  let after: [number, string] = [expectSeq - 1, '-infinity'];
  for (;;) {
    const { rows } = await q.query(
      `SELECT *, at::text AS at_key FROM audit_log WHERE workspace_id = $1 AND (seq, at) > ($2::bigint, $3::timestamptz)
       ORDER BY seq, at LIMIT $4`,
      [workspaceId, after[0], after[1], pageSize],
    );
    for (const row of rows) {
      const r = toAuditRecord(row);
      out.firstSeq ??= r.seq;
      if (r.seq > expectSeq) {
        return fail({ seq: expectSeq, reason: 'missing', message: `record ${expectSeq} is missing: the next stored record is ${r.seq}`, expected: String(expectSeq), found: String(r.seq) });
      }
      if (r.seq < expectSeq) {
        return fail({ seq: r.seq, reason: 'duplicate', message: `record ${r.seq} appears more than once`, expected: String(expectSeq), found: String(r.seq) });
      }
      if (r.prevHash !== expectPrev) {
        return fail({ seq: r.seq, reason: 'prev_hash_mismatch', message: `record ${r.seq} does not follow the record before it (that one was changed, or this one was)`, expected: expectPrev, found: r.prevHash });
      }
      const { prevHash: _p, hash: _h, ...fields } = r;
      const computed = auditHash(r.prevHash, fields);
      if (computed !== r.hash) {
        return fail({ seq: r.seq, reason: 'hash_mismatch', message: `record ${r.seq} was changed after it was written: its fields do not hash to its stored hash`, expected: computed, found: r.hash });
      }
      out.checked++;
      out.lastSeq = r.seq;
      expectSeq = r.seq + 1;
      expectPrev = r.hash;
    }
    if (rows.length < pageSize) break;
    const last = rows[rows.length - 1]!;
    after = [Number(last.seq), String(last.at_key)];
  }
  if (!head) {
    if (out.checked === 0) return out;
    return fail({ seq: expectSeq - 1, reason: 'head_mismatch', message: 'the chain has records but no head (audit_heads) row', expected: expectPrev, found: null });
  }
  if (expectSeq - 1 < Number(head.seq)) {
    return fail({ seq: expectSeq, reason: 'missing', message: `the chain ends at record ${expectSeq - 1} but its head says ${Number(head.seq)}: the last records are missing`, expected: String(head.seq), found: String(expectSeq - 1) });
  }
  if (expectPrev !== String(head.hash)) {
    return fail({ seq: expectSeq - 1, reason: 'head_mismatch', message: `the chain's last record ${expectSeq - 1} does not match its head (audit_heads)`, expected: String(head.hash), found: expectPrev });
  }
  return out;
}

/**
 * For retention: before the partitions holding records older than `before`
 * are dropped, each chain's base moves to its last record before that time,
 * so verification starts after it. Run it in the transaction that drops
 * them. Answers the chains moved.
 */
export async function rebaseAuditChains(q: Queryable, before: Date): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE audit_heads h SET base_seq = d.seq, base_hash = d.hash
     FROM (SELECT DISTINCT ON (workspace_id) workspace_id, seq, hash FROM audit_log WHERE at < $1 ORDER BY workspace_id, seq DESC) d
     WHERE h.workspace_id = d.workspace_id AND d.seq > h.base_seq`,
    [before.toISOString()],
  );
  return rowCount ?? 0;
}

/**
 * The audit trail's record, its canonical form and its hash chain (DESIGN.md
 * §6), plus the API's schemas for it. Pure: the store appends and verifies
 * with these functions, and anyone holding the API's answers can re-check a
 * chain with them (or with any SHA-256 and the rules below).
 *
 *   hash = sha256_hex(utf8(prevHash + canonicalJson(fields)))
 *
 * where `fields` is the record without `prevHash` and `hash`, and the first
 * record of a workspace has prevHash = GENESIS_HASH. The canonical JSON is
 * RFC 8785's shape: object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers as JSON.stringify writes them.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const GENESIS_HASH = '0'.repeat(64);

/** What one audit record says; everything here is hashed. */
export interface AuditFields {
  workspaceId: string;
  seq: number;
  /** ISO-8601 with milliseconds, UTC (`Date#toISOString`). */
  at: string;
  /** `user` for API tokens; the system's actors otherwise (dispatcher, daemon, reaper, promoter). */
  actorKind: string;
  actorTokenId: string | null;
  actorRole: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  clientAddress: string | null;
}

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no form for NaN or Infinity');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON has no form for a ${typeof value}`);
  }
}

/**
 * A summary as it will read back from a jsonb column: JSON's own values
 * only (dates become strings, undefined members go). Records are hashed in
 * this form, so what is stored is exactly what was hashed.
 */
export function jsonValue<T>(value: T): T {
  return value === undefined ? (null as T) : (JSON.parse(JSON.stringify(value)) as T);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function auditHash(prevHash: string, fields: AuditFields): string {
  return sha256Hex(prevHash + canonicalJson(fields));
}

/**
 * The canonical JSON of a record whose `seq` is not known yet, cut where
 * the number goes: canonicalJson(fields) === head + String(seq) + tail.
 * The database assigns seq while it holds the chain's end, and hashes
 * prev_hash || head || seq || tail in the same statement (audit_append.sql).
 */
export function canonicalAroundSeq(fields: Omit<AuditFields, 'seq'>): { head: string; tail: string } {
  const keys = [...Object.keys(fields).filter((k) => (fields as Record<string, unknown>)[k] !== undefined), 'seq'].sort();
  const at = keys.indexOf('seq');
  const pair = (k: string) => `${JSON.stringify(k)}:${canonicalJson((fields as Record<string, unknown>)[k])}`;
  const before = keys.slice(0, at).map(pair);
  const after = keys.slice(at + 1).map(pair);
  return { head: `{${[...before, '"seq":'].join(',')}`, tail: `${after.length ? `,${after.join(',')}` : ''}}` };
}

// ------------------------------------------------------------------- the API

const isoTime = z.string().describe('ISO-8601 time');
const summary = z.record(z.string(), z.unknown()).nullable();

export const auditRecord = z.object({
  workspaceId: z.string(),
  seq: z.number().int(),
  at: isoTime,
  actorKind: z.string(),
  actorTokenId: z.string().nullable(),
  actorRole: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  before: summary,
  after: summary,
  clientAddress: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditRecord = z.infer<typeof auditRecord>;

export const auditPage = z.object({ items: z.array(auditRecord), nextCursor: z.string().nullable() });

const workspace = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a workspace id');

export const auditListQuery = z
  .object({
    workspace: workspace.optional(),
    /** The `nextCursor` of the previous page (records are listed newest first). */
    cursor: z.string().regex(/^[1-9]\d{0,17}$/, 'expected a nextCursor value from a previous page').optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

export const auditVerifyQuery = z.object({ workspace: workspace.optional() }).strict();

/**
 * missing: a seq is absent (a record was deleted); duplicate: a seq appears
 * twice; prev_hash_mismatch: a record does not name the hash of the one
 * before it; hash_mismatch: a record's fields do not hash to its hash (it
 * was changed); head_mismatch: the chain does not end where audit_heads says.
 */
export const AUDIT_BREAKS = ['missing', 'duplicate', 'prev_hash_mismatch', 'hash_mismatch', 'head_mismatch'] as const;

/** The first place where the chain does not hold. */
export const auditBrokenLink = z.object({
  /** The record at which the chain breaks (for `missing`: the seq that should be there). */
  seq: z.number().int(),
  reason: z.enum(AUDIT_BREAKS),
  message: z.string(),
  expected: z.string().nullable(),
  found: z.string().nullable(),
});
export type AuditBrokenLink = z.infer<typeof auditBrokenLink>;

export const auditVerification = z.object({
  workspaceId: z.string(),
  ok: z.boolean(),
  /** Records whose hashes were recomputed. */
  checked: z.number().int(),
  firstSeq: z.number().int().nullable(),
  lastSeq: z.number().int().nullable(),
  /** The chain's end as the database records it; note it elsewhere to detect a rewritten tail later. */
  headSeq: z.number().int().nullable(),
  headHash: z.string().nullable(),
  broken: auditBrokenLink.nullable(),
});
export type AuditVerification = z.infer<typeof auditVerification>;

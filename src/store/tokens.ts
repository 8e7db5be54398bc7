/**
 * API tokens. The secret is 32 random bytes, shown once; only its SHA-256 is
 * stored, so a database dump reveals no usable token.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Token } from '../core/api.js';
import { NotFoundError } from '../core/errors.js';
import type { Queryable } from './db.js';
import { toToken, type DbRow } from './rows.js';

export type Role = 'admin' | 'member' | 'viewer' | 'daemon' | 'task';

export interface NewToken {
  role: Role;
  name: string;
  workspaceId: string | null;
  daemonWorkspaces?: string[] | null;
  taskId?: string;
  expiresAt?: Date | null;
}

const PREFIX: Record<Role, string> = { admin: 'sya', member: 'sym', viewer: 'syv', daemon: 'syd', task: 'syt' };

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function generateSecret(role: Role): string {
  return `${PREFIX[role]}_${randomBytes(32).toString('base64url')}`;
}

export async function createToken(q: Queryable, t: NewToken): Promise<Token & { token: string }> {
  const secret = generateSecret(t.role);
  const { rows } = await q.query(
    `INSERT INTO api_tokens (workspace_id, role, name, token_hash, prefix, daemon_workspaces, task_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [t.workspaceId, t.role, t.name, hashToken(secret), secret.slice(0, 8), t.daemonWorkspaces ?? null, t.taskId ?? null, t.expiresAt ?? null],
  );
  return { ...toToken(rows[0]!), token: secret };
}

export interface TokenRecord {
  id: string;
  role: Role;
  name: string;
  workspaceId: string | null;
  daemonWorkspaces: string[] | null;
  taskId: string | null;
}

/** The live (not revoked, not expired) token with this secret. */
export async function findToken(q: Queryable, secret: string): Promise<TokenRecord | undefined> {
  const { rows } = await q.query(
    `SELECT id, role, name, workspace_id, daemon_workspaces, task_id FROM api_tokens
     WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    [hashToken(secret)],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: String(r.id),
    role: r.role as Role,
    name: String(r.name),
    workspaceId: (r.workspace_id as string | null) ?? null,
    daemonWorkspaces: (r.daemon_workspaces as string[] | null) ?? null,
    taskId: (r.task_id as string | null) ?? null,
  };
}

export async function touchToken(q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id]);
}

/** Tokens people manage: task tokens are internal and short-lived, so they are not listed. */
export async function listTokens(q: Queryable, workspaceId: string | null): Promise<Token[]> {
  const { rows } = await q.query(
    `SELECT * FROM api_tokens WHERE role <> 'task' AND workspace_id IS NOT DISTINCT FROM $1 ORDER BY created_at, id`,
    [workspaceId],
  );
  return rows.map((r: DbRow) => toToken(r));
}

export async function getTokenRow(q: Queryable, id: string): Promise<Token | undefined> {
  const { rows } = await q.query(`SELECT * FROM api_tokens WHERE id = $1 AND role <> 'task'`, [id]);
  return rows[0] ? toToken(rows[0]) : undefined;
}

export async function revokeToken(q: Queryable, id: string): Promise<Token> {
  const { rows } = await q.query(`UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *`, [id]);
  if (!rows[0]) throw new NotFoundError('token', id);
  return toToken(rows[0]);
}

export async function revokeTaskTokens(q: Queryable, taskId: string): Promise<void> {
  await q.query(`UPDATE api_tokens SET revoked_at = now() WHERE task_id = $1 AND revoked_at IS NULL`, [taskId]);
}

/** API tokens: the secret is shown once and only its SHA-256 is stored; revoked and expired tokens do not authenticate. */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/core/errors.js';
import { createToken, findToken, listTokens, revokeTaskTokens, revokeToken } from '../../src/store/tokens.js';
import { createWorkspace } from '../../src/store/workspaces.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { track, untrack } from '../helpers/leaks.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
  track(db, 'test database');
  await createWorkspace(db, { id: 'tok-a' });
  await createWorkspace(db, { id: 'tok-b' });
});
afterAll(async () => {
  await db?.close();
  untrack(db);
});

/** Every column of every token row, as text. */
async function everythingStored(): Promise<string> {
  const { rows } = await db.query<{ r: string }>(`SELECT row_to_json(t)::text AS r FROM api_tokens t`);
  return rows.map((r) => r.r).join('\n');
}

describe('api tokens', () => {
  it('stores the SHA-256 of the secret and never the secret itself', async () => {
    const t = await createToken(db, { role: 'member', name: 'ci', workspaceId: 'tok-a' });
    expect(t.token).toMatch(/^sym_[A-Za-z0-9_-]{43}$/);
    const { rows } = await db.query(`SELECT token_hash, prefix FROM api_tokens WHERE id = $1`, [t.id]);
    expect(rows[0]?.token_hash).toBe(createHash('sha256').update(t.token).digest('hex'));
    const stored = await everythingStored();
    expect(stored).not.toContain(t.token);
    // Not even the random part: only the short prefix shown in listings may appear.
    expect(stored).not.toContain(t.token.slice(4, 20));
    expect(rows[0]?.prefix).toBe(t.token.slice(0, 8));
    expect(JSON.stringify(await listTokens(db, 'tok-a'))).not.toContain(t.token);
  });

  it('finds the live token by its secret, with its role and scope', async () => {
    const t = await createToken(db, { role: 'viewer', name: 'dashboard', workspaceId: 'tok-b' });
    expect(await findToken(db, t.token)).toEqual({ id: t.id, role: 'viewer', name: 'dashboard', workspaceId: 'tok-b', daemonWorkspaces: null, taskId: null });
    expect(await findToken(db, `${t.token}x`)).toBeUndefined();
    expect(await findToken(db, t.token.toUpperCase())).toBeUndefined();
  });

  it('gives each token a different secret', async () => {
    const secrets = await Promise.all(Array.from({ length: 20 }, (_, i) => createToken(db, { role: 'member', name: `n${i}`, workspaceId: 'tok-a' }).then((t) => t.token)));
    expect(new Set(secrets).size).toBe(20);
  });

  it('does not find a revoked token, and revoking twice keeps the first time', async () => {
    const t = await createToken(db, { role: 'admin', name: 'old', workspaceId: 'tok-a' });
    const first = await revokeToken(db, t.id);
    expect(first.revokedAt).not.toBeNull();
    expect(await findToken(db, t.token)).toBeUndefined();
    const second = await revokeToken(db, t.id);
    expect(second.revokedAt).toBe(first.revokedAt);
    await expect(revokeToken(db, randomUUID())).rejects.toBeInstanceOf(NotFoundError);
  });

  it('does not find an expired token, and finds one that expires later', async () => {
    const expired = await createToken(db, { role: 'member', name: 'expired', workspaceId: 'tok-a', expiresAt: new Date(Date.now() - 1_000) });
    const later = await createToken(db, { role: 'member', name: 'later', workspaceId: 'tok-a', expiresAt: new Date(Date.now() + 3_600_000) });
    expect(await findToken(db, expired.token)).toBeUndefined();
    expect((await findToken(db, later.token))?.id).toBe(later.id);
  });

  it('lists a workspace’s tokens only, never task tokens, and instance tokens apart', async () => {
    const task = randomUUID();
    const member = await createToken(db, { role: 'member', name: 'scoped', workspaceId: 'tok-b' });
    const taskToken = await createToken(db, { role: 'task', name: 'run', workspaceId: 'tok-b', taskId: task });
    const instance = await createToken(db, { role: 'daemon', name: 'everywhere', workspaceId: null, daemonWorkspaces: null });
    const inB = (await listTokens(db, 'tok-b')).map((t) => t.id);
    expect(inB).toContain(member.id);
    expect(inB).not.toContain(taskToken.id);
    expect(inB).not.toContain(instance.id);
    expect((await listTokens(db, 'tok-a')).map((t) => t.id)).not.toContain(member.id);
    expect((await listTokens(db, null)).map((t) => t.id)).toEqual([instance.id]);
    // Task tokens still authenticate for their task until the task's tokens are revoked.
    expect((await findToken(db, taskToken.token))?.taskId).toBe(task);
    await revokeTaskTokens(db, task);
    expect(await findToken(db, taskToken.token)).toBeUndefined();
    expect((await findToken(db, member.token))?.id).toBe(member.id);
  });
});

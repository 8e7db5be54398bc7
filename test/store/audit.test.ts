/**
 * The audit log in the store: records chained by SHA-256 per workspace,
 * appended in the transaction of the change they record, and a verifier
 * that names the first record that was changed or removed behind the
 * product's back.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditHash, canonicalAroundSeq, canonicalJson, GENESIS_HASH, type AuditFields } from '../../src/core/audit.js';
import { appendAudit, listAudit, rebaseAuditChains, verifyAuditChain, withAuditActor, type AuditActor } from '../../src/store/audit.js';
import { auditPartitionName, ensureAuditPartitions } from '../../src/store/partitions.js';
import { insertTask, transition } from '../../src/store/tasks.js';
import { createWorkspace } from '../../src/store/workspaces.js';
import { createTestDb, itOnPostgres, type TestDb } from '../helpers/db.js';
import { track, untrack } from '../helpers/leaks.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
  track(db, 'test database');
});
afterAll(async () => {
  await db?.close();
  untrack(db);
});

const SYSTEM: AuditActor = { kind: 'reaper', tokenId: null, role: null, clientAddress: null };
const ALICE: AuditActor = { kind: 'user', tokenId: randomUUID(), role: 'admin', clientAddress: '203.0.113.7' };

/** A fresh workspace (audit on unless said otherwise), so each test owns its chain. */
async function workspace(auditLogEnabled = true): Promise<string> {
  const id = `au-${randomUUID().slice(0, 8)}`;
  await createWorkspace(db, { id, auditLogEnabled });
  return id;
}

async function append(ws: string, n: number, actor = ALICE): Promise<void> {
  for (let i = 0; i < n; i++) {
    await appendAudit(db, { workspaceId: ws, actor, action: 'thing.update', targetType: 'thing', targetId: `t${i}`, before: { size: i }, after: { size: i + 1, note: `ünïcødé "quoted" \\ ${i}` } });
  }
}

const rows = async (ws: string) => (await db.query('SELECT seq, action, actor_kind, actor_token_id, before, after FROM audit_log WHERE workspace_id = $1 ORDER BY seq', [ws])).rows;

describe('canonical form', () => {
  it('sorts keys at every level and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }], 'é': true, A: 2.5 })).toBe('{"A":2.5,"a":[{"c":"x","d":null}],"b":1,"é":true}');
    expect(canonicalJson({ skip: undefined, keep: 0 })).toBe('{"keep":0}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/NaN/);
  });

  it('splits around seq exactly where the number goes, so the database can hash with the seq it assigns', () => {
    const fields: Omit<AuditFields, 'seq'> = {
      workspaceId: 'w',
      at: '2031-01-02T03:04:05.678Z',
      actorKind: 'user',
      actorTokenId: null,
      actorRole: 'admin',
      action: 'task.cancel',
      targetType: 'task',
      targetId: 'x',
      before: { seq: 1, status: 'queued' },
      after: null,
      clientAddress: '::1',
    };
    const { head, tail } = canonicalAroundSeq(fields);
    for (const seq of [1, 42, 9_007_199_254]) expect(head + String(seq) + tail).toBe(canonicalJson({ ...fields, seq }));
  });
});

describe('appendAudit', () => {
  it('chains records: each names the previous hash, and the hash the database computed is the one the fields give', async () => {
    const ws = await workspace();
    await append(ws, 3);
    const { items } = await listAudit(db, ws, { limit: 10 });
    expect(items.map((r) => r.seq)).toEqual([3, 2, 1]);
    const [third, second, first] = items;
    expect(first!.prevHash).toBe(GENESIS_HASH);
    expect(second!.prevHash).toBe(first!.hash);
    expect(third!.prevHash).toBe(second!.hash);
    for (const r of items) {
      const { prevHash, hash, ...fields } = r;
      expect(auditHash(prevHash, fields)).toBe(hash);
    }
    expect(first).toMatchObject({ actorKind: 'user', actorTokenId: ALICE.tokenId, actorRole: 'admin', clientAddress: '203.0.113.7', after: { size: 1 } });
    expect(await verifyAuditChain(db, ws)).toMatchObject({ ok: true, checked: 3, firstSeq: 1, lastSeq: 3, headSeq: 3, headHash: third!.hash, broken: null });
  });

  it('writes nothing for a workspace without the audit log, unless told the change must be recorded', async () => {
    const ws = await workspace(false);
    expect(await appendAudit(db, { workspaceId: ws, actor: ALICE, action: 'x.y', targetType: null, targetId: null })).toBeUndefined();
    expect(await rows(ws)).toEqual([]);
    // The update that turned the log off is still recorded (the server passes enabled=true for it).
    expect(await appendAudit(db, { workspaceId: ws, actor: ALICE, action: 'workspace.update', targetType: 'workspace', targetId: ws }, true)).toMatchObject({ seq: 1 });
  });

  it('pages newest first with a cursor', async () => {
    const ws = await workspace();
    await append(ws, 5);
    const one = await listAudit(db, ws, { limit: 2 });
    const two = await listAudit(db, ws, { limit: 2, cursor: one.nextCursor! });
    const three = await listAudit(db, ws, { limit: 2, cursor: two.nextCursor! });
    expect([one, two, three].map((p) => p.items.map((r) => r.seq))).toEqual([[5, 4], [3, 2], [1]]);
    expect(three.nextCursor).toBeNull();
  });

  it('rolls back with the transaction it was appended in, leaving no gap', async () => {
    const ws = await workspace();
    await append(ws, 1);
    await expect(
      db.tx(async (q) => {
        await appendAudit(q, { workspaceId: ws, actor: SYSTEM, action: 'never.happened', targetType: null, targetId: null });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await append(ws, 1);
    expect((await rows(ws)).map((r) => [r.seq, r.action])).toEqual([
      [1, 'thing.update'],
      [2, 'thing.update'],
    ]);
    expect((await verifyAuditChain(db, ws)).ok).toBe(true);
  });

  itOnPostgres('keep one chain when many connections append and transition at once', async () => {
    const ws = await workspace();
    const tasks = await Promise.all(Array.from({ length: 20 }, (_, i) => insertTask(db, { workspaceId: ws, assignedAgent: 'codex', prompt: `p${i}` })));
    await Promise.all([
      ...tasks.map((t) => withAuditActor(ALICE, () => db.tx((q) => transition(q, { taskId: t.id, from: ['queued'], to: 'cancelled', actor: 'user' })))),
      ...Array.from({ length: 60 }, (_, i) => db.tx((q) => appendAudit(q, { workspaceId: ws, actor: SYSTEM, action: 'parallel.append', targetType: null, targetId: String(i) }))),
    ]);
    const v = await verifyAuditChain(db, ws);
    expect(v).toMatchObject({ ok: true, checked: 100, firstSeq: 1, lastSeq: 100, headSeq: 100 });
  });
});

describe('task transitions', () => {
  it('records each transition with its actor; a user\'s carries the API caller', async () => {
    const ws = await workspace();
    const task = await withAuditActor(ALICE, () => insertTask(db, { workspaceId: ws, assignedAgent: 'codex', prompt: 'a long secret prompt' }));
    const daemonId = randomUUID();
    await db.tx((q) => transition(q, { taskId: task.id, from: ['queued'], to: 'claimed', actor: 'dispatcher', set: { daemon_id: daemonId, attempt: 1 } }));
    await withAuditActor(ALICE, () => db.tx((q) => transition(q, { taskId: task.id, from: ['claimed'], to: 'cancelled', actor: 'user', reason: 'not needed' })));
    const r = await rows(ws);
    expect(r.map((x) => [x.action, x.actor_kind, x.actor_token_id, x.before, x.after])).toEqual([
      ['task.transition', 'user', ALICE.tokenId, null, { status: 'queued', attempt: 0, reason: 'created' }],
      ['task.transition', 'dispatcher', null, { status: 'queued' }, { status: 'claimed', attempt: 1, reason: null, daemonId }],
      ['task.transition', 'user', ALICE.tokenId, { status: 'claimed' }, { status: 'cancelled', attempt: 1, reason: 'not needed', daemonId }],
    ]);
    expect(JSON.stringify(r)).not.toContain('secret prompt');
    expect((await verifyAuditChain(db, ws)).ok).toBe(true);
  });

  it('records none for a workspace without the audit log', async () => {
    const ws = await workspace(false);
    const task = await insertTask(db, { workspaceId: ws, assignedAgent: 'codex', prompt: 'p' });
    await db.tx((q) => transition(q, { taskId: task.id, from: ['queued'], to: 'cancelled', actor: 'user' }));
    expect(await rows(ws)).toEqual([]);
    expect(await verifyAuditChain(db, ws)).toMatchObject({ ok: true, checked: 0, headSeq: null });
  });
});

describe('verifyAuditChain', () => {
  it('fails at the record whose fields were changed in SQL', async () => {
    const ws = await workspace();
    await append(ws, 6);
    await db.query(`UPDATE audit_log SET after = '{"size": 1000}' WHERE workspace_id = $1 AND seq = 4`, [ws]);
    const v = await verifyAuditChain(db, ws);
    expect(v).toMatchObject({ ok: false, checked: 3, broken: { seq: 4, reason: 'hash_mismatch' } });
    const stored = (await listAudit(db, ws, { limit: 10 })).items.find((r) => r.seq === 4)!;
    expect(v.broken!.found).toBe(stored.hash);
    expect(v.broken!.expected).not.toBe(stored.hash);
  });

  it('fails at the next record when a changed record\'s hash was recomputed to match', async () => {
    const ws = await workspace();
    await append(ws, 4);
    const two = (await listAudit(db, ws, { limit: 10 })).items.find((r) => r.seq === 2)!;
    const forged = { ...two, after: { size: 0 } };
    const { prevHash, hash: _old, ...fields } = forged;
    await db.query(`UPDATE audit_log SET after = $3, hash = $4 WHERE workspace_id = $1 AND seq = $2`, [ws, 2, JSON.stringify(forged.after), auditHash(prevHash, fields)]);
    expect(await verifyAuditChain(db, ws)).toMatchObject({ ok: false, broken: { seq: 3, reason: 'prev_hash_mismatch', expected: auditHash(prevHash, fields), found: two.hash } });
  });

  it('finds a deleted record, in the middle or at the end', async () => {
    const ws = await workspace();
    await append(ws, 5);
    await db.query('DELETE FROM audit_log WHERE workspace_id = $1 AND seq = 5', [ws]);
    expect(await verifyAuditChain(db, ws)).toMatchObject({ ok: false, broken: { seq: 5, reason: 'missing' } });
    await db.query('DELETE FROM audit_log WHERE workspace_id = $1 AND seq = 2', [ws]);
    expect(await verifyAuditChain(db, ws)).toMatchObject({ ok: false, checked: 1, broken: { seq: 2, reason: 'missing', expected: '2', found: '3' } });
  });

  it('walks a chain longer than one page', async () => {
    const ws = await workspace();
    await append(ws, 7);
    expect(await verifyAuditChain(db, ws, 3)).toMatchObject({ ok: true, checked: 7, lastSeq: 7 });
    await db.query(`UPDATE audit_log SET action = 'thing.delete' WHERE workspace_id = $1 AND seq = 7`, [ws]);
    expect(await verifyAuditChain(db, ws, 3)).toMatchObject({ ok: false, broken: { seq: 7, reason: 'hash_mismatch' } });
  });

  it('starts after the base once retention has dropped the oldest records', async () => {
    const ws = await workspace();
    const old = new Date(Date.now() - 400 * 86_400_000);
    for (let i = 0; i < 3; i++) await appendAudit(db, { workspaceId: ws, actor: SYSTEM, action: 'old.thing', targetType: null, targetId: null, at: old });
    await append(ws, 2);
    const cutoff = new Date(Date.now() - 300 * 86_400_000);
    expect(await rebaseAuditChains(db, cutoff)).toBeGreaterThanOrEqual(1);
    await db.query('DELETE FROM audit_log WHERE workspace_id = $1 AND at < $2', [ws, cutoff.toISOString()]);
    expect(await verifyAuditChain(db, ws)).toMatchObject({ ok: true, checked: 2, firstSeq: 4, lastSeq: 5 });
  });
});

describe('monthly partitions', () => {
  it('creates one partition per UTC month and moves records that arrived before it out of the default one', async () => {
    expect(auditPartitionName(new Date('2040-02-29T23:59:59Z'))).toBe('audit_log_204002');
    const ws = await workspace();
    const at = new Date('2040-03-15T12:00:00Z');
    await appendAudit(db, { workspaceId: ws, actor: SYSTEM, action: 'early.record', targetType: null, targetId: null, at });
    const where = async () => (await db.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM audit_log WHERE workspace_id = $1', [ws])).rows[0]!.p;
    expect(await where()).toBe('audit_log_default');
    expect(await ensureAuditPartitions(db, at, 1, 1)).toEqual(['audit_log_204002', 'audit_log_204003', 'audit_log_204004']);
    expect(await where()).toBe('audit_log_204003');
    expect(await ensureAuditPartitions(db, at, 1, 1)).toEqual([]);
    const { rows: bounds } = await db.query<{ b: string }>(`SELECT pg_get_expr(c.relpartbound, c.oid) AS b FROM pg_class c WHERE c.relname = 'audit_log_204002'`);
    expect(bounds[0]!.b).toBe("FOR VALUES FROM ('2040-02-01 00:00:00+00') TO ('2040-03-01 00:00:00+00')");
    expect((await verifyAuditChain(db, ws)).ok).toBe(true);
  });
});

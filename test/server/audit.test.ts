/**
 * The audit trail over REST (DESIGN.md §6, issue 7): real API calls and the
 * task transitions they and the runtime cause land in the workspace's
 * hash chain with who, what, on what, from where; `GET /audit/verify` holds
 * until a row is changed or removed in SQL, and then names that record.
 * Only admins read a workspace's log, and nobody can change it through the API.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord, AuditVerification } from '../../src/core/audit.js';
import type { Task } from '../../src/core/api.js';
import { fakeAgent } from '../helpers/config.js';
import { itOnPostgres } from '../helpers/db.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { call } from './http.js';

const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/fake-claude.mjs', import.meta.url));
const agents = [fakeAgent(), { name: 'claude-code', binary: FAKE_CLAUDE }];
const runtime = { retry_backoff_base: '50ms', retry_backoff_cap: '100ms' };

let s: TestServer;
let d: TestDaemon;
/** Audited, and made through the API like a real one. */
const A = { id: 'audit-a', admin: '', member: '', memberId: '' };
let quiet: WorkspaceHandle;
let other: WorkspaceHandle;

beforeAll(async () => {
  s = await startTestServer({ config: { agents, runtime } });
  d = await startTestDaemon(s.url, s.daemonToken, { config: { agents, runtime } });
  quiet = await s.workspace('audit-quiet');
  other = await s.workspace('audit-other', { auditLogEnabled: true });
});
afterAll(async () => {
  await d?.stop();
  await s?.close();
});

const api = (token: string) => ({
  get: (path: string) => call(s.url, 'GET', path, { token }),
  post: (path: string, body: unknown = {}) => call(s.url, 'POST', path, { token, body }),
});
const records = async (token: string, ws?: string): Promise<AuditRecord[]> => {
  const items: AuditRecord[] = [];
  let cursor: string | null = null;
  do {
    const r = await api(token).get(`/api/v1/audit?limit=7${ws ? `&workspace=${ws}` : ''}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status, r.text).toBe(200);
    const page = r.json as { items: AuditRecord[]; nextCursor: string | null };
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items.reverse();
};
const verify = async (token: string, ws?: string): Promise<AuditVerification> => {
  const r = await api(token).get(`/api/v1/audit/verify${ws ? `?workspace=${ws}` : ''}`);
  expect(r.status, r.text).toBe(200);
  return r.json as AuditVerification;
};
const settled = (token: string, id: string, status: Task['status'], attempt?: number) =>
  until(async () => {
    const t = (await api(token).get(`/api/v1/tasks/${id}`)).json as Task;
    return t.status === status && (attempt === undefined || t.attempt === attempt) ? t : undefined;
  }, `task ${id} to be ${status}`, 20_000);

describe('a workspace with the audit log', () => {
  const ids = { done: '', failed: '', blocked: '', queued: '', revoked: '' };

  beforeAll(async () => {
    const admin = api(s.adminToken);
    expect((await admin.post('/api/v1/workspaces', { id: A.id, auditLogEnabled: true })).status).toBe(201);
    A.admin = ((await admin.post(`/api/v1/workspaces/${A.id}/tokens`, { role: 'admin', name: 'ops' })).json as { token: string }).token;
    const m = (await api(A.admin).post(`/api/v1/workspaces/${A.id}/tokens`, { role: 'member', name: 'dev' })).json as { token: string; id: string };
    A.member = m.token;
    A.memberId = m.id;
    ids.revoked = ((await api(A.admin).post(`/api/v1/workspaces/${A.id}/tokens`, { role: 'viewer', name: 'temp' })).json as { id: string }).id;
    expect((await call(s.url, 'DELETE', `/api/v1/tokens/${ids.revoked}`, { token: A.admin })).status).toBe(200);
    expect((await call(s.url, 'PATCH', `/api/v1/workspaces/${A.id}`, { token: A.admin, body: { name: 'Audited', maxConcurrentTasks: 6 } })).status).toBe(200);

    const member = api(A.member);
    const create = async (body: object) => ((await member.post('/api/v1/tasks', body)).json as Task).id;
    ids.done = await create({ assignedAgent: 'fake', prompt: 'work --lines 2' });
    ids.failed = await create({ assignedAgent: 'fake', prompt: 'work --exit 3', maxAttempts: 1 });
    ids.blocked = await create({ assignedAgent: 'claude-code', prompt: 'plan ask="Which region?"' });
    ids.queued = await create({ assignedAgent: 'fake', prompt: 'later', runAfter: new Date(Date.now() + 3_600_000).toISOString() });
    await settled(A.member, ids.done, 'completed');
    await settled(A.member, ids.failed, 'failed');
    expect((await member.post(`/api/v1/tasks/${ids.failed}/retry`, { reason: 'flaky' })).status).toBe(200);
    await settled(A.member, ids.failed, 'failed', 2);
    await settled(A.member, ids.blocked, 'blocked');
    expect((await member.post(`/api/v1/tasks/${ids.blocked}/answer`, { answer: 'eu-west' })).status).toBe(200);
    await settled(A.member, ids.blocked, 'completed');
    expect((await member.post(`/api/v1/tasks/${ids.queued}/cancel`, { reason: 'not needed' })).status).toBe(200);
  }, 90_000);

  it('records every state-changing call with the token, its role, the target and the client address', async () => {
    const log = await records(A.admin);
    const calls = log.filter((r) => r.action !== 'task.transition');
    expect(calls.map((r) => r.action)).toEqual([
      'workspace.create',
      'token.create',
      'token.create',
      'token.create',
      'token.revoke',
      'workspace.update',
      'task.create',
      'task.create',
      'task.create',
      'task.create',
      'task.retry',
      // The agent asking its question, with the task's own token.
      'task.ask',
      'task.answer',
      'task.cancel',
    ]);
    for (const r of calls) expect(r).toMatchObject({ actorKind: 'user', clientAddress: '127.0.0.1', workspaceId: A.id });
    expect(calls.every((r) => r.actorTokenId)).toBe(true);
    expect(calls[0]).toMatchObject({ actorRole: 'admin', targetType: 'workspace', targetId: A.id, after: { auditLogEnabled: true } });
    expect(calls[4]).toMatchObject({ action: 'token.revoke', targetId: ids.revoked, after: { name: 'temp', role: 'viewer' } });
    expect(calls[5]).toMatchObject({ before: { name: A.id, maxConcurrentTasks: 4 }, after: { name: 'Audited', maxConcurrentTasks: 6 } });
    expect(Object.keys(calls[5]!.after!).sort()).toEqual(['maxConcurrentTasks', 'name']);
    expect(calls[10]).toMatchObject({ actorTokenId: A.memberId, actorRole: 'member', targetId: ids.failed, before: { status: 'failed' }, after: { reason: 'flaky' } });
    // `after` is the task as the call answered it: the dispatcher may already have claimed it again.
    expect(['queued', 'claimed', 'executing']).toContain(calls[10]!.after!.status);
    expect(calls[11]).toMatchObject({ actorRole: 'task', targetId: ids.blocked, after: { questionChars: 'Which region?'.length } });
    expect(calls[13]).toMatchObject({ targetId: ids.queued, before: { status: 'queued' }, after: { status: 'cancelled', reason: 'not needed' } });
    // Summaries, never secrets or whole prompts.
    const text = JSON.stringify(log);
    expect(text).not.toContain(A.member);
    expect(text).not.toContain('Which region');
    expect(text).not.toContain('eu-west');
  });

  it('records every transition: the runtime\'s and the dispatcher\'s as theirs, a user\'s with the caller\'s token', async () => {
    const log = await records(A.admin);
    const of = (id: string) => log.filter((r) => r.action === 'task.transition' && r.targetId === id).map((r) => `${r.before?.status ?? '∅'}→${r.after?.status} ${r.actorKind}`);
    expect(of(ids.done)).toEqual(['∅→queued user', 'queued→claimed dispatcher', 'claimed→executing daemon', 'executing→completed daemon']);
    expect(of(ids.failed)).toEqual([
      '∅→queued user',
      'queued→claimed dispatcher',
      'claimed→executing daemon',
      'executing→failed daemon',
      'failed→queued user',
      'queued→claimed dispatcher',
      'claimed→executing daemon',
      'executing→failed daemon',
    ]);
    expect(of(ids.blocked)).toContain('blocked→queued user');
    const retried = log.find((r) => r.action === 'task.transition' && r.targetId === ids.failed && r.before?.status === 'failed')!;
    expect(retried).toMatchObject({ actorTokenId: A.memberId, actorRole: 'member', clientAddress: '127.0.0.1' });
    const claimed = log.find((r) => r.after?.status === 'claimed')!;
    expect(claimed).toMatchObject({ actorTokenId: null, actorRole: null, clientAddress: null });
    expect(log.map((r) => r.seq)).toEqual(log.map((_, i) => i + 1));
  });

  it('verifies, then fails at exactly the record changed in SQL, and at a deleted one', async () => {
    const clean = await verify(A.admin);
    expect(clean).toMatchObject({ ok: true, broken: null, firstSeq: 1 });
    expect(clean.checked).toBe(clean.headSeq);
    const log = await records(A.admin);
    const retry = log.find((r) => r.action === 'task.retry')!;

    const { rows } = await s.db.query<{ after: string }>('SELECT after::text AS after FROM audit_log WHERE workspace_id = $1 AND seq = $2', [A.id, retry.seq]);
    await s.db.query(`UPDATE audit_log SET after = '{"status":"completed"}' WHERE workspace_id = $1 AND seq = $2`, [A.id, retry.seq]);
    const tampered = await verify(A.admin);
    expect(tampered).toMatchObject({ ok: false, checked: retry.seq - 1, broken: { seq: retry.seq, reason: 'hash_mismatch', found: retry.hash } });

    // Put back exactly as it was, the chain holds again: the hash covers the content, nothing else.
    await s.db.query('UPDATE audit_log SET after = $3::jsonb WHERE workspace_id = $1 AND seq = $2', [A.id, retry.seq, rows[0]!.after]);
    expect((await verify(A.admin)).ok).toBe(true);

    const victim = log.find((r) => r.action === 'task.cancel')!;
    await s.db.query('DELETE FROM audit_log WHERE workspace_id = $1 AND seq = $2', [A.id, victim.seq]);
    expect(await verify(s.adminToken, A.id)).toMatchObject({ ok: false, broken: { seq: victim.seq, reason: 'missing' } });
  });

  itOnPostgres('keeps one valid chain under many parallel API calls', async () => {
    const ws = await s.workspace('audit-busy', { auditLogEnabled: true });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const created = await Promise.all(Array.from({ length: 60 }, (_, i) => ws.client().tasks.create({ assignedAgent: 'fake', prompt: `p${i}`, runAfter: later })));
    await Promise.all(created.slice(0, 30).map((t) => ws.client().tasks.cancel(t.id)));
    const v = await verify(ws.tokens.admin);
    // Per task: its creation call and transition; per cancel: the call and the transition.
    expect(v).toMatchObject({ ok: true, checked: 60 * 2 + 30 * 2, headSeq: 180 });
  });
});

describe('who may read it', () => {
  it('gives a workspace without the audit log no records, for its calls or its transitions', async () => {
    const t = await quiet.client().tasks.create({ assignedAgent: 'fake', prompt: 'work --lines 1' });
    await settled(quiet.tokens.member, t.id, 'completed');
    await quiet.client().tasks.create({ assignedAgent: 'fake', prompt: 'x', runAfter: new Date(Date.now() + 3_600_000).toISOString() }).then((x) => quiet.client().tasks.cancel(x.id));
    await quiet.client('admin').workspaces.update(quiet.id, { name: 'still quiet' });
    expect(await records(quiet.tokens.admin)).toEqual([]);
    expect((await s.db.query('SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = $1', [quiet.id])).rows[0]!.n).toBe(0);
    expect(await verify(quiet.tokens.admin)).toMatchObject({ ok: true, checked: 0, headSeq: null });
  });

  it('keeps each workspace to its own log: another workspace\'s admin is refused, members and viewers too', async () => {
    await other.client().tasks.create({ assignedAgent: 'fake', prompt: 'x', runAfter: new Date(Date.now() + 3_600_000).toISOString() });
    const mine = await records(other.tokens.admin);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.workspaceId === other.id)).toBe(true);
    for (const path of ['/api/v1/audit', '/api/v1/audit/verify']) {
      expect((await api(other.tokens.admin).get(`${path}?workspace=${A.id}`)).status).toBe(403);
      for (const role of ['member', 'viewer', 'daemon'] as const) expect((await api(other.tokens[role]).get(path)).status).toBe(403);
    }
    // The instance admin reads any workspace's.
    expect((await records(s.adminToken, other.id)).map((r) => r.seq)).toEqual(mine.map((r) => r.seq));
  });

  it('offers no way to change or delete a record', async () => {
    for (const method of ['PATCH', 'PUT', 'DELETE', 'POST']) {
      for (const path of ['/api/v1/audit', `/api/v1/audit/1?workspace=${other.id}`]) {
        const r = await call(s.url, method, path, { token: s.adminToken, ...(method === 'DELETE' ? {} : { body: {} }) });
        expect(r.status, `${method} ${path}`).toBe(404);
      }
    }
  });

  it('refuses a cursor that is not one', async () => {
    expect((await api(other.tokens.admin).get('/api/v1/audit?cursor=abc')).status).toBe(400);
  });
});

describe('the client address behind a proxy (runtime.trust_proxy)', () => {
  const forwarded = { 'x-forwarded-for': '203.0.113.7' };
  const lastAddress = async (srv: TestServer, ws: WorkspaceHandle): Promise<string | null> => {
    const r = await call(srv.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, headers: forwarded, body: { assignedAgent: 'fake', prompt: 'p', runAfter: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(r.status, r.text).toBe(201);
    const page = (await call(srv.url, 'GET', '/api/v1/audit?limit=1', { token: ws.tokens.admin })).json as { items: AuditRecord[] };
    return page.items[0]!.clientAddress;
  };

  it('ignores X-Forwarded-For by default: a client cannot choose the address it is recorded with', async () => {
    expect(await lastAddress(s, other)).toBe('127.0.0.1');
  });

  it('records the forwarded address when the proxy is trusted', async () => {
    const proxied = await startTestServer({ config: { runtime: { trust_proxy: '127.0.0.1' } } });
    try {
      const ws = await proxied.workspace('audit-proxied', { auditLogEnabled: true });
      expect(await lastAddress(proxied, ws)).toBe('203.0.113.7');
    } finally {
      await proxied.close();
    }
  });
});

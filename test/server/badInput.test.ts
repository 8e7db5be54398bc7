/**
 * Bad input to every endpoint that takes a body, a path parameter or a query:
 * each answer is a 4xx in the API's error shape whose details name the
 * failing field, never a 5xx, a stack trace or SQL — and the server keeps
 * serving afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { apiError, call, detailPaths, expectNothingInternal, type Answer, type ErrorShape } from './http.js';

let s: TestServer;
let ws: WorkspaceHandle;
let taskId: string;

beforeAll(async () => {
  s = await startTestServer({ config: { runtime: { max_prompt_size: '1KB' } } });
  ws = await s.workspace('bad-input');
  taskId = (await ws.client().tasks.create({ assignedAgent: 'fake', prompt: 'a task to aim at' })).id;
});
afterAll(async () => {
  await s?.close();
});

/** A refused request: a 4xx in the error shape, nothing internal in the body. */
function refused(a: Answer, status: number | number[]): ErrorShape {
  const allowed = Array.isArray(status) ? status : [status];
  expect(allowed, `status ${a.status}: ${a.text.slice(0, 300)}`).toContain(a.status);
  expectNothingInternal(a);
  return apiError(a);
}

/** The details name the field: as a path (`metadata`, `status.0`) or, for unknown keys, in the message. */
function expectNamesField(e: ErrorShape, field: string): void {
  const details = Array.isArray(e.details) ? (e.details as { path?: string; message?: string }[]) : [];
  const named = details.some((d) => (d.path ?? '').split('.').includes(field) || (d.message ?? '').includes(field));
  expect(named, `details ${JSON.stringify(e.details)} should name ${field}`).toBe(true);
}

type Case = [label: string, method: string, path: () => string, body: unknown, field: string | null];

const uuidLike = '3f2c1a9e-0000-4000-8000-00000000zzzz';
const UNKNOWN_TASK = '00000000-0000-4000-8000-000000000000';

describe('request bodies', () => {
  const cases: Case[] = [
    // POST /workspaces
    ['workspace: malformed JSON', 'POST', () => '/api/v1/workspaces', '{"id": "x",', null],
    ['workspace: an array instead of an object', 'POST', () => '/api/v1/workspaces', [], 'body'],
    ['workspace: missing id', 'POST', () => '/api/v1/workspaces', { name: 'No id' }, 'id'],
    ['workspace: id not a slug', 'POST', () => '/api/v1/workspaces', { id: 'Bad Slug!' }, 'id'],
    ['workspace: id starting with a dash', 'POST', () => '/api/v1/workspaces', { id: '-x' }, 'id'],
    ['workspace: id too long', 'POST', () => '/api/v1/workspaces', { id: 'a'.repeat(64) }, 'id'],
    ['workspace: name of the wrong type', 'POST', () => '/api/v1/workspaces', { id: 'w1', name: 5 }, 'name'],
    ['workspace: allowedAgents not a list', 'POST', () => '/api/v1/workspaces', { id: 'w1', allowedAgents: 'fake' }, 'allowedAgents'],
    ['workspace: an agent name with spaces', 'POST', () => '/api/v1/workspaces', { id: 'w1', allowedAgents: ['bad agent'] }, 'allowedAgents'],
    ['workspace: maxConcurrentTasks as a string', 'POST', () => '/api/v1/workspaces', { id: 'w1', maxConcurrentTasks: '4' }, 'maxConcurrentTasks'],
    ['workspace: maxConcurrentTasks of zero', 'POST', () => '/api/v1/workspaces', { id: 'w1', maxConcurrentTasks: 0 }, 'maxConcurrentTasks'],
    ['workspace: auditLogEnabled as a string', 'POST', () => '/api/v1/workspaces', { id: 'w1', auditLogEnabled: 'yes' }, 'auditLogEnabled'],
    ['workspace: an unknown field', 'POST', () => '/api/v1/workspaces', { id: 'w1', nmae: 'typo' }, 'nmae'],
    // PATCH /workspaces/:id
    ['workspace update: malformed JSON', 'PATCH', () => '/api/v1/workspaces/bad-input', '{name: "x"}', null],
    ['workspace update: fractional maxConcurrentTasks', 'PATCH', () => '/api/v1/workspaces/bad-input', { maxConcurrentTasks: 1.5 }, 'maxConcurrentTasks'],
    ['workspace update: skillRetentionDays of the wrong type', 'PATCH', () => '/api/v1/workspaces/bad-input', { skillRetentionDays: [] }, 'skillRetentionDays'],
    ['workspace update: renaming the id', 'PATCH', () => '/api/v1/workspaces/bad-input', { id: 'other' }, 'id'],
    ['workspace update: settings not an object', 'PATCH', () => '/api/v1/workspaces/bad-input', { settings: 'x' }, 'settings'],
    // POST /workspaces/:id/tokens
    ['token: unknown role', 'POST', () => '/api/v1/workspaces/bad-input/tokens', { role: 'root', name: 'x' }, 'role'],
    ['token: missing name', 'POST', () => '/api/v1/workspaces/bad-input/tokens', { role: 'viewer' }, 'name'],
    ['token: blank name', 'POST', () => '/api/v1/workspaces/bad-input/tokens', { role: 'viewer', name: '   ' }, 'name'],
    ['token: expiresInDays as a string', 'POST', () => '/api/v1/workspaces/bad-input/tokens', { role: 'viewer', name: 'x', expiresInDays: '7' }, 'expiresInDays'],
    ['token: naming a workspace in the body', 'POST', () => '/api/v1/workspaces/bad-input/tokens', { role: 'viewer', name: 'x', workspaceId: 'default' }, 'workspaceId'],
    ['token: malformed JSON', 'POST', () => '/api/v1/workspaces/bad-input/tokens', '{"role":"viewer" "name":"x"}', null],
    // POST /tokens (instance-wide)
    ['instance token: a workspace role', 'POST', () => '/api/v1/tokens', { role: 'member', name: 'x' }, 'role'],
    ['instance token: an empty workspace list', 'POST', () => '/api/v1/tokens', { role: 'daemon', name: 'x', workspaces: [] }, 'workspaces'],
    ['instance token: a bad workspace id', 'POST', () => '/api/v1/tokens', { role: 'daemon', name: 'x', workspaces: ['NOT OK'] }, 'workspaces'],
    // POST /tasks
    ['task: malformed JSON', 'POST', () => '/api/v1/tasks', '{"assignedAgent":"fake","prompt":}', null],
    ['task: JSON null', 'POST', () => '/api/v1/tasks', 'null', 'body'],
    ['task: a bare number', 'POST', () => '/api/v1/tasks', '42', 'body'],
    ['task: missing assignedAgent', 'POST', () => '/api/v1/tasks', { prompt: 'hi' }, 'assignedAgent'],
    ['task: missing prompt', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake' }, 'prompt'],
    ['task: empty prompt', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: '' }, 'prompt'],
    ['task: prompt of the wrong type', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 42 }, 'prompt'],
    ['task: agent name with a slash', 'POST', () => '/api/v1/tasks', { assignedAgent: '../bin/sh', prompt: 'hi' }, 'assignedAgent'],
    ['task: priority as a word', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', priority: 'high' }, 'priority'],
    ['task: fractional priority', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', priority: 1.5 }, 'priority'],
    ['task: priority out of range', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', priority: 1e9 }, 'priority'],
    ['task: maxAttempts of zero', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', maxAttempts: 0 }, 'maxAttempts'],
    ['task: metadata as a list', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', metadata: [1, 2] }, 'metadata'],
    ['task: metadata as a string', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', metadata: 'x' }, 'metadata'],
    ['task: runAfter not a time', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', runAfter: 'tomorrow' }, 'runAfter'],
    ['task: tokenBudget negative', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', tokenBudget: -1 }, 'tokenBudget'],
    ['task: the workspace in the body', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', workspaceId: 'default' }, 'workspaceId'],
    ['task: a status in the body', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', status: 'completed' }, 'status'],
    // POST /tasks/:id/cancel, retry, answer
    ['cancel: reason of the wrong type', 'POST', () => `/api/v1/tasks/${taskId}/cancel`, { reason: 5 }, 'reason'],
    ['cancel: an unknown field', 'POST', () => `/api/v1/tasks/${taskId}/cancel`, { force: true }, 'force'],
    ['cancel: malformed JSON', 'POST', () => `/api/v1/tasks/${taskId}/cancel`, '{', null],
    ['retry: reason too long', 'POST', () => `/api/v1/tasks/${taskId}/retry`, { reason: 'x'.repeat(1001) }, 'reason'],
    ['retry: an unknown field', 'POST', () => `/api/v1/tasks/${taskId}/retry`, { attempts: 9 }, 'attempts'],
    ['answer: no body', 'POST', () => `/api/v1/tasks/${taskId}/answer`, undefined, 'body'],
    ['answer: missing answer', 'POST', () => `/api/v1/tasks/${taskId}/answer`, {}, 'answer'],
    ['answer: empty answer', 'POST', () => `/api/v1/tasks/${taskId}/answer`, { answer: '' }, 'answer'],
    ['answer: answer of the wrong type', 'POST', () => `/api/v1/tasks/${taskId}/answer`, { answer: ['a'] }, 'answer'],
    ['answer: an unknown field', 'POST', () => `/api/v1/tasks/${taskId}/answer`, { answer: 'a', resume: false }, 'resume'],
  ];

  it.each(cases)('%s → 400', async (_label, method, path, body, field) => {
    const e = refused(await call(s.url, method, path(), { token: s.adminToken, body }), 400);
    if (field === null) expect(e.code).toBe('invalid_json');
    else {
      expect(e.code).toBe('validation_failed');
      expectNamesField(e, field);
    }
  });

  it('names every missing field at once', async () => {
    const e = refused(await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: {} }), 400);
    expect(detailPaths(e)).toEqual(expect.arrayContaining(['assignedAgent', 'prompt']));
  });
});

describe('path parameters', () => {
  const cases: [string, string, string, unknown?][] = [
    ['GET', '/api/v1/workspaces/Not_A_Slug', 'id'],
    ['PATCH', '/api/v1/workspaces/Not_A_Slug', 'id', { name: 'x' }],
    ['DELETE', '/api/v1/workspaces/Not_A_Slug', 'id'],
    ['POST', '/api/v1/workspaces/Not_A_Slug/tokens', 'id', { role: 'viewer', name: 'x' }],
    ['GET', '/api/v1/workspaces/Not_A_Slug/tokens', 'id'],
    ['DELETE', '/api/v1/tokens/42', 'id'],
    ['GET', '/api/v1/tasks/42', 'id'],
    ['GET', `/api/v1/tasks/${uuidLike}`, 'id'],
    ['GET', '/api/v1/tasks/not-a-uuid/runs', 'id'],
    ['GET', '/api/v1/tasks/not-a-uuid/events', 'id'],
    ['POST', '/api/v1/tasks/not-a-uuid/cancel', 'id', {}],
    ['POST', '/api/v1/tasks/not-a-uuid/retry', 'id', {}],
    ['POST', '/api/v1/tasks/not-a-uuid/answer', 'id', { answer: 'a' }],
    ['GET', '/api/v1/daemons/not-a-uuid/health', 'id'],
  ];

  it.each(cases)('%s %s → 400 naming the parameter', async (method, path, field, body) => {
    const e = refused(await call(s.url, method, path, { token: s.adminToken, body }), 400);
    expect(e.code).toBe('validation_failed');
    expectNamesField(e, field);
  });

  it('answers well-formed ids of nothing with 404', async () => {
    for (const [method, path, body] of [
      ['GET', `/api/v1/tasks/${UNKNOWN_TASK}`],
      ['POST', `/api/v1/tasks/${UNKNOWN_TASK}/cancel`, {}],
      ['POST', `/api/v1/tasks/${UNKNOWN_TASK}/answer`, { answer: 'a' }],
      ['DELETE', `/api/v1/tokens/${UNKNOWN_TASK}`],
      ['GET', '/api/v1/workspaces/no-such-workspace'],
      ['PATCH', '/api/v1/workspaces/no-such-workspace', { name: 'x' }],
    ] as const) {
      expect(refused(await call(s.url, method, path, { token: s.adminToken, body }), 404).code, `${method} ${path}`).toBe('not_found');
    }
  });

  it('answers a malformed or overlong path in the error shape', async () => {
    refused(await call(s.url, 'GET', '/api/v1/tasks/%zz', { token: s.adminToken }), 400);
    refused(await call(s.url, 'GET', `/api/v1/tasks/${'a'.repeat(300)}`, { token: s.adminToken }), [400, 414]);
  });
});

describe('query parameters', () => {
  const cases: [string, string][] = [
    ['/api/v1/tasks?limit=abc', 'limit'],
    ['/api/v1/tasks?limit=0', 'limit'],
    ['/api/v1/tasks?limit=501', 'limit'],
    ['/api/v1/tasks?limit=2.5', 'limit'],
    ['/api/v1/tasks?status=bogus', 'status'],
    ['/api/v1/tasks?status=queued,bogus', 'status'],
    ['/api/v1/tasks?agent=bad%20agent', 'agent'],
    ['/api/v1/tasks?groupId=nope', 'groupId'],
    ['/api/v1/tasks?cursor=garbage', 'cursor'],
    ['/api/v1/tasks?workspace=NOT%20A%20SLUG', 'workspace'],
    ['/api/v1/tasks?colour=blue', 'colour'],
    ['/api/v1/tasks/TASK/events?after=abc', 'after'],
    ['/api/v1/tasks/TASK/events?after=-1', 'after'],
    ['/api/v1/tasks/TASK/events?limit=0', 'limit'],
    ['/api/v1/tasks/TASK/events?limit=many', 'limit'],
    ['/api/v1/tasks/TASK?workspace=Bad!', 'workspace'],
    ['/api/v1/daemons?workspace=Bad!', 'workspace'],
    ['/api/v1/daemons?all=true', 'all'],
  ];

  it.each(cases)('GET %s → 400 naming %s', async (path, field) => {
    const e = refused(await call(s.url, 'GET', path.replace('TASK', taskId), { token: s.adminToken }), 400);
    expect(e.code).toBe('validation_failed');
    expectNamesField(e, field);
  });
});

describe('sizes', () => {
  it('refuses a prompt over orchestrator.runtime.max_prompt_size with 413 naming the limit', async () => {
    const a = await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: { assignedAgent: 'fake', prompt: 'é'.repeat(513) } });
    const e = refused(a, 413);
    expect(e.code).toBe('payload_too_large');
    expect(e.message).toContain('1026 bytes');
    expect(e.message).toContain('1024 bytes');
    expect(e.message).toContain('max_prompt_size');
  });

  it('accepts a prompt of exactly the limit', async () => {
    const a = await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: { assignedAgent: 'fake', prompt: 'x'.repeat(1024) } });
    expect(a.status).toBe(201);
  });

  it('refuses a body over the global limit with 413', async () => {
    const prompt = 'x'.repeat(2 * 1024 * 1024);
    const e = refused(await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: { assignedAgent: 'fake', prompt } }), 413);
    expect(e.code).toBe('payload_too_large');
    const garbage = refused(await call(s.url, 'POST', '/api/v1/workspaces', { token: s.adminToken, body: `"${'y'.repeat(3 * 1024 * 1024)}"` }), 413);
    expect(garbage.code).toBe('payload_too_large');
  });

  it('answers a large flat JSON body without a 5xx', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]));
    const a = await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: { assignedAgent: 'fake', prompt: 'wide', metadata } });
    expect(a.status).toBeLessThan(500);
  });

  it('refuses deeply nested metadata with a 4xx naming metadata', async () => {
    // 5,000 levels fit easily in the body limit; serializing them must not blow the server's stack.
    const nested = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    const a = await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: `{"assignedAgent":"fake","prompt":"deep","metadata":{"a":${nested}}}` });
    const e = refused(a, [400, 413]);
    expectNamesField(e, 'metadata');
  });
});

describe('content types', () => {
  const json = JSON.stringify({ assignedAgent: 'fake', prompt: 'typed' });
  it.each([
    ['text/plain', json],
    ['application/x-www-form-urlencoded', 'assignedAgent=fake&prompt=typed'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\ntyped\r\n--x--\r\n'],
    ['application/xml', '<task><prompt>typed</prompt></task>'],
  ])('refuses a body sent as %s', async (type, body) => {
    const before = (await ws.client().tasks.list()).items.length;
    refused(await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body, headers: { 'content-type': type } }), [400, 415]);
    expect((await ws.client().tasks.list()).items.length).toBe(before);
  });

  it('refuses an empty body declared as JSON', async () => {
    const e = refused(await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, headers: { 'content-type': 'application/json' } }), 400);
    expect(e.code).toBe('invalid_json');
  });

  it('accepts cancel and retry without any body', async () => {
    const t = await ws.client().tasks.create({ assignedAgent: 'fake', prompt: 'cancel me bare' });
    const a = await call(s.url, 'POST', `/api/v1/tasks/${t.id}/cancel`, { token: ws.tokens.member });
    expect(a.status).toBe(200);
    const r = await call(s.url, 'POST', `/api/v1/tasks/${t.id}/retry`, { token: ws.tokens.member });
    expect(refused(r, 409).details).toEqual({ currentStatus: 'cancelled' });
  });
});

describe('values the database cannot store', () => {
  const NUL = 'a\u0000b';
  const cases: [label: string, method: string, path: () => string, body: unknown, field: string][] = [
    ['a NUL character in the prompt', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: NUL }, 'prompt'],
    ['a NUL character in metadata', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', metadata: { note: NUL } }, 'metadata'],
    ['a NUL character in a workspace name', 'POST', () => '/api/v1/workspaces', { id: 'nul-name', name: NUL }, 'name'],
    ['a NUL character in a token name', 'POST', () => '/api/v1/workspaces/bad-input/tokens', { role: 'viewer', name: NUL }, 'name'],
    ['a NUL character in a cancel reason', 'POST', () => `/api/v1/tasks/${taskId}/cancel`, { reason: NUL }, 'reason'],
    ['a tokenBudget beyond 32 bits', 'POST', () => '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'hi', tokenBudget: 2 ** 40 }, 'tokenBudget'],
  ];

  it.each(cases)('%s → 400', async (_label, method, path, body, field) => {
    const e = refused(await call(s.url, method, path(), { token: s.adminToken, body }), 400);
    expectNamesField(e, field);
  });

  it('refuses an events cursor beyond 32 bits with 400', async () => {
    const e = refused(await call(s.url, 'GET', `/api/v1/tasks/${taskId}/events?after=3000000000`, { token: s.adminToken }), 400);
    expectNamesField(e, 'after');
  });

  it('refuses a forged list cursor whose time is not a timestamp with 400', async () => {
    const forged = Buffer.from(JSON.stringify(['Sat, 01 Jan 2000 00:00:00 GMT (forged)', UNKNOWN_TASK])).toString('base64url');
    const e = refused(await call(s.url, 'GET', `/api/v1/tasks?cursor=${forged}`, { token: s.adminToken }), 400);
    expectNamesField(e, 'cursor');
  });
});

describe('after all of that', () => {
  it('still serves a normal request', async () => {
    expect((await call(s.url, 'GET', '/healthz')).status).toBe(200);
    expect((await call(s.url, 'GET', '/readyz')).status).toBe(200);
    const created = await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: { assignedAgent: 'fake', prompt: 'all is well', priority: 1 } });
    expect(created.status).toBe(201);
    const listed = await ws.client('viewer').tasks.list({ limit: 500 });
    expect(listed.items.map((t) => t.prompt)).toContain('all is well');
    expect(listed.items.every((t) => t.workspaceId === 'bad-input')).toBe(true);
    expect((await s.admin.workspaces.get('bad-input')).name).toBe('bad-input');
  });
});

/**
 * Fuzzing the REST API: every operation of /openapi.json (so new routes are
 * covered as they are added) with generated path parameters, query strings,
 * bodies and tokens. Whatever arrives, the answer is below 500 in the API's
 * error shape, nothing is logged as an error, one workspace's token never
 * gets another workspace's object, and the server serves normally afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyText, expectNoPollution, hugeString, expectSound, fuzzParams, httpRequest, jsonText, nastyString, pathParam, queryString, rawHttp, routesOf, type Route } from './fuzz.js';
import { expectStillServing, startWorld, type World } from './world.js';

let w: World;
let routes: Route[];
/** Workspaces the fuzz creates get fresh ids, so a 409 means a real conflict. */
let made = 0;

beforeAll(async () => {
  w = await startWorld();
  const doc = await rawHttp(w.s.url, httpRequest('GET', '/openapi.json'));
  routes = routesOf(JSON.parse(doc!.body) as Parameters<typeof routesOf>[0]);
});
afterAll(async () => {
  await w?.close();
});

type Who = 'none' | 'garbage' | 'instanceAdmin' | 'aAdmin' | 'aMember' | 'aViewer' | 'aDaemon' | 'bAdmin';
const WHO: Who[] = ['none', 'garbage', 'instanceAdmin', 'aAdmin', 'aMember', 'aViewer', 'aDaemon', 'bAdmin'];
const tokenOf = (who: Who): string | undefined =>
  ({ none: undefined, garbage: 'sy_not-a-real-token', instanceAdmin: w.s.adminToken, aAdmin: w.a.tokens.admin, aMember: w.a.tokens.member, aViewer: w.a.tokens.viewer, aDaemon: w.a.tokens.daemon, bAdmin: w.b.tokens.admin })[who];
const isA = (who: Who) => who.startsWith('a');

const realIds = () => [w.objA.workspace, w.objA.task, w.objA.webhook, w.objA.delivery, w.objA.skill, w.objA.token, w.objB.workspace, ...w.secretsOfB, 'default'];

interface Sent {
  route: Route;
  path: string;
  who: Who;
  body: string | undefined;
}

/** Sends one generated request and checks the answer; answers the status. */
async function send(c: Sent): Promise<number> {
  const what = `${c.route.method} ${c.path} as ${c.who} with ${c.body === undefined ? 'no body' : `${c.body.length} chars: ${c.body.slice(0, 200)}`}`;
  const a = await rawHttp(w.s.url, httpRequest(c.route.method, c.path, { token: tokenOf(c.who), body: c.body }));
  expect(a, `the server closed the connection without an answer: ${what}`).toBeDefined();
  expectSound(a!, what);
  expectNoPollution();
  if (isA(c.who) && a!.status < 300) {
    // Isolation: an A token may succeed, but never on (or with) one of B's objects.
    // (Query parameters a route does not declare are ignored, so only the path and ?workspace= count.)
    const [pathPart, query = ''] = c.path.split('?');
    const victim = [...w.secretsOfB, 'fuzz-b'].find((id) => pathPart!.split('/').includes(id));
    expect(victim, `an A token got ${a!.status} on B's ${victim}: ${what}`).toBeUndefined();
    if (c.route.query.includes('workspace')) expect(query.split('&'), `an A token got ${a!.status} naming workspace fuzz-b: ${what}`).not.toContain('workspace=fuzz-b');
    for (const id of w.secretsOfB) expect(a!.body.includes(id), `B's ${id} in an answer to an A token: ${what}`).toBe(false);
  }
  return a!.status;
}

/** The route's path with generated parameters; DELETE with an instance admin token only ever aims at ids of nothing (the world must survive the run). */
function pathArb(route: Route, who: Who): fc.Arbitrary<string> {
  const real = who === 'instanceAdmin' && route.method === 'DELETE' ? ['00000000-0000-4000-8000-000000000000', 'no-such-workspace'] : realIds();
  return fc
    .tuple(fc.tuple(...route.params.map(() => pathParam(real))), queryString(route.query, ['fuzz-a', 'fuzz-b', 'default', w.objB.task, '1', '500']))
    .map(([params, query]) => {
      let i = 0;
      return route.path.replace(/\{\w+\}/g, () => params[i++]!) + query;
    });
}

describe('REST fuzz', () => {
  it('finds the operations in /openapi.json', () => {
    // The suite fuzzes what the document lists: an empty or broken document must fail here, not fuzz nothing.
    expect(routes.length).toBeGreaterThan(30);
    const names = routes.map((r) => `${r.method} ${r.path}`);
    for (const n of ['POST /api/v1/tasks', 'PATCH /api/v1/workspaces/{id}', 'POST /api/v1/webhooks', 'POST /api/v1/skills/restore', 'DELETE /api/v1/tokens/{id}', 'GET /api/v1/tasks/{id}/events']) expect(names).toContain(n);
    expect(routes.find((r) => r.path === '/api/v1/tasks' && r.method === 'POST')?.bodyKeys).toEqual(expect.arrayContaining(['assignedAgent', 'prompt', 'metadata']));
  });

  it('answers every generated request (route, path parameters, query, body, token) below 500', async () => {
    const request = fc
      .tuple(fc.constantFrom(...routes), fc.constantFrom(...WHO))
      .chain(([route, who]) =>
        fc.record({
          route: fc.constant(route),
          who: fc.constant(who),
          path: pathArb(route, who),
          body: route.hasBody ? fc.option(bodyText(route.bodyKeys), { freq: 6, nil: undefined }) : fc.constant(undefined),
        }),
      );
    await fc.assert(fc.asyncProperty(request, async (c) => void (await send(c))), fuzzParams(600));
    await expectStillServing(w);
  });

  /** Valid bodies for the routes that change state, so single bad fields get past the rest of validation and reach the services and the database. */
  const BASE: Record<string, () => Record<string, unknown>> = {
    'POST /api/v1/workspaces': () => ({ id: `fz-${++made}`, name: 'fuzzed' }),
    'PATCH /api/v1/workspaces/{id}': () => ({ name: 'fuzzed' }),
    'POST /api/v1/workspaces/{id}/tokens': () => ({ role: 'viewer', name: 'fuzzed' }),
    'POST /api/v1/tokens': () => ({ role: 'daemon', name: 'fuzzed', workspaces: ['fuzz-a'] }),
    'POST /api/v1/tasks': () => ({ assignedAgent: 'nobody-runs-this', prompt: 'fuzzed', priority: 1, metadata: { k: 'v' } }),
    'POST /api/v1/tasks/{id}/cancel': () => ({ reason: 'fuzzed' }),
    'POST /api/v1/tasks/{id}/retry': () => ({ reason: 'fuzzed' }),
    'POST /api/v1/tasks/{id}/answer': () => ({ answer: 'fuzzed' }),
    'POST /api/v1/tasks/{id}/ask': () => ({ question: 'fuzzed' }),
    'POST /api/v1/tasks/{id}/progress': () => ({ message: 'fuzzed' }),
    'POST /api/v1/skills': () => ({ name: 'fuzzed', description: 'fuzzed', metadata: {} }),
    'POST /api/v1/skills/import': () => ({ items: [{ name: 'fuzzed', description: 'fuzzed' }] }),
    'POST /api/v1/skills/archive': () => ({ olderThanDays: 1 }),
    'POST /api/v1/skills/restore': () => ({
      records: [{ id: '6f1c3b9e-1d2a-4c3b-8a5e-9f0e1d2c3b4a', workspaceId: 'fuzz-a', name: 'restored', description: 'fuzzed', usageCount: 1, createdAt: '2024-01-01T00:00:00Z', lastUsedAt: '2024-01-01T00:00:00Z', sourceTaskId: null, agent: null, model: null, metadata: {}, embedding: null, embeddingModel: null, dims: null }],
    }),
    'POST /api/v1/webhooks': () => ({ url: 'http://127.0.0.1:9/fuzzed', events: ['task.failed'], format: 'json' }),
    'PATCH /api/v1/webhooks/{id}': () => ({ description: 'fuzzed' }),
  };

  /** Values that are valid JSON but odd for any field: wrong types, edges, NUL and lone surrogates, deep and huge ones, time strings PostgreSQL may not read. */
  const oddValue: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 3, arbitrary: jsonText().map((t) => JSON.parse(t) as unknown) },
    { weight: 2, arbitrary: nastyString },
    { weight: 1, arbitrary: hugeString },
    { weight: 1, arbitrary: fc.constantFrom('0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '1970-01-01T00:00:00+14:00', '2024-02-30T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:60Z') },
    { weight: 1, arbitrary: fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, -0, 1e308, 0.5, 36_501, 3651, 10_001) },
    { weight: 1, arbitrary: fc.array(fc.oneof(fc.double(), fc.constant(1e308)), { maxLength: 2001 }) },
  );

  it('answers state-changing requests with one bad field below 500', async () => {
    const changing = routes.filter((r) => BASE[`${r.method} ${r.path}`]);
    expect(changing.length).toBe(Object.keys(BASE).length);
    const request = fc.record({
      route: fc.constantFrom(...changing),
      who: fc.constantFrom<Who>('aAdmin', 'aMember', 'instanceAdmin'),
      ids: fc.constantFrom('own', 'unknown'),
      // Which field to change (a base field, a record's field, or a new one) and to what.
      mutations: fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('id', 'name', 'description', 'metadata', 'items', 'records', 'embedding', 'dims', 'embeddingModel', 'createdAt', 'lastUsedAt', 'usageCount', 'sourceTaskId', 'runAfter', 'tokenBudget', 'url', 'events', 'settings', 'allowedAgents', 'maxConcurrentTasks', 'expiresInDays', 'workspaces', '__proto__')), oddValue, fc.boolean()), { minLength: 1, maxLength: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ route, who, ids, mutations }) => {
        const body = BASE[`${route.method} ${route.path}`]!();
        for (const [key, value, inRecord] of mutations) {
          // Inside the first element of a list (items, records, workspaces) when there is one, else at the top.
          const list = Object.values(body).find(Array.isArray) as unknown[] | undefined;
          const target = inRecord && list && typeof list[0] === 'object' && list[0] !== null ? (list[0] as Record<string, unknown>) : body;
          Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
        }
        const id = (param: string) => {
          if (ids === 'unknown') return '00000000-0000-4000-8000-000000000000';
          if (route.path.startsWith('/api/v1/workspaces')) return 'fuzz-a';
          if (route.path.startsWith('/api/v1/webhooks')) return param === 'deliveryId' ? w.objA.delivery : w.objA.webhook;
          return w.objA.task;
        };
        const path = route.path.replace(/\{(\w+)\}/g, (_m, p: string) => id(p)) + (who === 'instanceAdmin' ? '?workspace=fuzz-a' : '');
        await send({ route, who, path: route.path.startsWith('/api/v1/workspaces') || route.path === '/api/v1/tokens' ? path.replace('?workspace=fuzz-a', '') : path, body: JSON.stringify(body) });
      }),
      fuzzParams(300),
    );
    await expectStillServing(w);
  });
});

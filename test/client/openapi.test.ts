/**
 * The typed client is checked against the OpenAPI document the server
 * generates from its route schemas: every call the client can make is a
 * route the server documents, with the same method. And the CLI has no
 * second HTTP layer: it makes its calls through the client.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** `GET /tasks/{param}/events` for every `this.request('GET', `/tasks/${enc(id)}/events`, …)` in the client. */
function clientCalls(): string[] {
  const text = readFileSync(join(SRC, 'client/index.ts'), 'utf8');
  const calls = new Set<string>();
  for (const m of text.matchAll(/this\.request\('([A-Z]+)',\s*(['`])([^'`]+)\2/g)) {
    calls.add(`${m[1]} ${m[3]!.replace(/\$\{[^}]+\}/g, '{param}')}`);
  }
  return [...calls].sort();
}

describe('the typed client and the OpenAPI document', () => {
  let s: TestServer;
  let documented: Set<string>;
  beforeAll(async () => {
    s = await startTestServer();
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/^\/api\/v1/, '').replace(/\{[^}]+\}/g, '{param}')}`),
      ),
    );
  });
  afterAll(async () => {
    await s?.close();
  });

  it('calls only routes the server documents', () => {
    const calls = clientCalls();
    expect(calls.length).toBeGreaterThan(25);
    expect(calls.filter((c) => !documented.has(c))).toEqual([]);
  });

  it('covers the task, event, group and skill routes a pipeline needs', () => {
    const calls = new Set(clientCalls());
    for (const c of ['POST /tasks', 'GET /tasks', 'GET /tasks/{param}', 'GET /tasks/{param}/events', 'GET /task-groups/{param}', 'GET /skills']) expect(calls).toContain(c);
  });

  it('leaves the CLI no HTTP layer of its own', () => {
    const cliFiles = readdirSync(join(SRC, 'cli'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const offenders = cliFiles.filter((f) => /\bfetch\(|from 'node:http'|from 'undici'/.test(readFileSync(join(SRC, 'cli', f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});

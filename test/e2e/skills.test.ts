/**
 * The skill library end to end: a completed task becomes a skill; a new,
 * similar task gets it as a suggestion (API and CLI); with injectSkills the
 * agent's prompt carries it as a prior solution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/cli.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

let s: TestServer;
let d: TestDaemon;
const echo = { name: 'echo', binary: '', args: ['--echo-args', '{prompt}'], version_args: [] as string[] };

beforeAll(async () => {
  const { FAKE_AGENT } = await import('../helpers/config.js');
  echo.binary = FAKE_AGENT;
  s = await startTestServer({ config: { agents: [{ ...echo }] } });
  d = await startTestDaemon(s.url, s.daemonToken, { config: { agents: [{ ...echo }] } });
});
afterAll(async () => {
  await d?.stop();
  await s?.close();
});

const cli = (args: string[]) => runCli(args, { env: cliEnv(tempDir('sy-cli-home-')) });

const FIRST = 'Fix the JWT expiry check in src/auth/session.ts: exp is compared in milliseconds';
const SIMILAR = 'users stay logged in after their token expired; session.ts compares the JWT exp in the wrong unit';

describe('skills end to end', () => {
  it('turns a completed task into a skill, suggests it for a similar task, and puts it in the prompt when enabled', async () => {
    const ws = await s.workspace('e2e-skills', { settings: { injectSkills: true } });
    const client = ws.client();
    // Unrelated skills around it, so the suggestion has to be the right one.
    await client.skills.import([
      { name: 'Fix CSV export quoting', description: 'Addresses with commas shifted columns in export/csv.ts; quote such fields.' },
      { name: 'Fix Docker layer cache', description: 'npm install ran on every build; copy package.json before the sources in the Dockerfile.' },
    ]);

    const first = await client.tasks.create({ assignedAgent: 'echo', prompt: FIRST });
    await until(async () => (await client.tasks.get(first.id)).status === 'completed', 'the first task to complete');
    const skill = await until(async () => (await client.skills.list()).items.find((x) => x.sourceTaskId === first.id), 'the task to become a skill');
    expect(skill.name).toBe(FIRST);
    expect(skill.description).toContain('Result:');

    const second = await client.tasks.create({ assignedAgent: 'echo', prompt: SIMILAR });
    expect(second.suggestions[0]).toMatchObject({ id: skill.id, name: FIRST });
    expect(second.suggestions.length).toBeLessThanOrEqual(3);
    await until(async () => (await client.tasks.get(second.id)).status === 'completed', 'the second task to complete');
    const events = await client.tasks.events(second.id, 0, 1000);
    const prompt = events.items.map((e) => e.text ?? '').join('\n');
    expect(prompt).toContain('Prior solutions from this workspace');
    expect(prompt).toContain(FIRST);
    // Given to the agent: counted as a use.
    expect((await client.skills.get(skill.id)).usageCount).toBeGreaterThanOrEqual(2);

    const search = await cli(['skill', 'search', SIMILAR, '--json', '--url', s.url, '--token', ws.tokens.viewer]);
    expect(search.code, search.stderr).toBe(0);
    const hits = JSON.parse(search.stdout) as { id: string; score: number }[];
    expect(hits[0]!.id).toBe(skill.id);
    const shown = await cli(['task', 'show', second.id, '--url', s.url, '--token', ws.tokens.viewer]);
    expect(shown.stdout).toContain(`suggested   ${FIRST.slice(0, 20)}`);
  });

  it('leaves the prompt alone when the workspace does not inject skills', async () => {
    const ws = await s.workspace('e2e-skills-off');
    const client = ws.client();
    await client.skills.create({ name: FIRST, description: 'exp compared in milliseconds; compare seconds' });
    const t = await client.tasks.create({ assignedAgent: 'echo', prompt: SIMILAR });
    expect(t.suggestions).toHaveLength(1);
    await until(async () => (await client.tasks.get(t.id)).status === 'completed', 'the task to complete');
    const events = await client.tasks.events(t.id, 0, 1000);
    expect(events.items.map((e) => e.text ?? '').join('\n')).not.toContain('Prior solutions');
  });
});

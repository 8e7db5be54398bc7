import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeAgent } from '../helpers/config.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const marker = join(tmpdir(), `switchyard-hostile-${process.pid}`);

// Each must reach the agent as exactly one argument, byte for byte.
const PROMPTS: Record<string, string> = {
  'command substitution': `$(touch ${marker})`,
  backticks: `\`touch ${marker}\``,
  'command chaining': `x; touch ${marker}; rm -rf /nonexistent-switchyard`,
  quotes: `it's "quoted" \\"escaped\\" 'single'`,
  newlines: 'line one\nline two\r\n\ttabbed',
  globs: '* ?.ts [a-z] ~ $HOME ${PATH}',
  '100 KB': 'A'.repeat(50 * 1024) + '"$(x)"' + 'B'.repeat(50 * 1024),
  unicode: 'naïve — 漢字 😀 \u202e reversed',
};

describe('hostile prompts', () => {
  let s: TestServer;
  let d: TestDaemon;
  const agents = [fakeAgent({ name: 'echo', args: ['--echo-args', '{prompt}'] })];
  beforeAll(async () => {
    rmSync(marker, { force: true });
    s = await startTestServer({ config: { agents } });
    d = await startTestDaemon(s.url, s.daemonToken, { config: { agents } });
  });
  afterAll(async () => {
    await d?.stop();
    await s?.close();
    rmSync(marker, { force: true });
  });

  for (const [name, prompt] of Object.entries(PROMPTS)) {
    it(`passes ${name} through as one argument and runs nothing`, async () => {
      const task = await s.admin.tasks.create({ assignedAgent: 'echo', prompt });
      await until(async () => (await s.admin.tasks.get(task.id)).status === 'completed', 'the echo run');
      const events = (await s.admin.tasks.events(task.id, 0, 5000)).items.filter((e) => e.stream === 'stdout');
      // The fake agent printed each argv entry JSON-encoded, one per line.
      const argv = events.map((e) => JSON.parse(e.raw) as string);
      expect(argv).toEqual(['--echo-args', prompt]);
      expect(existsSync(marker)).toBe(false);
    });
  }
});

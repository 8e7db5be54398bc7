/**
 * Regenerates the README's dashboard screenshots (docs/images/board.png and
 * docs/images/task.png): starts `switchyard up` on a throwaway data folder,
 * files a handful of tasks that end in different states, and photographs the
 * board and one task page in Debian's Chromium.
 *
 *   npm run build && npx tsx scripts/screenshots.ts
 *
 * The Claude Code transcript is a scripted replay in Claude Code's own
 * stream-json format (no model is called); the other tasks run the test
 * suite's fake agent. Nothing is downloaded.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { SwitchyardClient } from '../src/client/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';
const OUT = join(ROOT, 'docs/images');
const WORKSPACE = 'acme-web';

/** Claude Code's headless output for one believable bug fix, paced like a real run. */
const REPLAY = String.raw`#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
if (process.argv.includes('--version')) { console.log('2.1.332 (Claude Code)'); process.exit(0); }
let input = '';
for await (const c of process.stdin) input += c;
const prompt = (JSON.parse(input.split('\n')[0] || '{}').message?.content ?? []).map((c) => c.text ?? '').join('\n');
const session = 'a1b2c3d4-0000-4000-8000-000000000001';
const model = 'claude-sonnet-4-5';
const out = (o) => process.stdout.write(JSON.stringify({ session_id: session, ...o }) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (text) => out({ type: 'assistant', message: { role: 'assistant', model, content: [{ type: 'text', text }], usage: { input_tokens: 1800, output_tokens: 120 } } });
let n = 0;
const tool = async (name, input, result, isError = false) => {
  const id = 'toolu_' + ++n;
  out({ type: 'assistant', message: { role: 'assistant', model, content: [{ type: 'tool_use', id, name, input }], usage: { input_tokens: 2400, output_tokens: 60 } } });
  await sleep(250);
  out({ type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: result, is_error: isError }] } });
};
out({ type: 'system', subtype: 'init', cwd: process.cwd(), tools: ['Bash', 'Read', 'Edit'], mcp_servers: [], model, permissionMode: 'bypassPermissions', claude_code_version: '2.1.332' });
const ask = /^ASK: (.*)$/m.exec(prompt)?.[1];
if (ask) {
  say('Before renaming anything I need one decision from you.');
  await tool('Bash', { command: 'switchyard ask "' + ask + '"' }, execFileSync('switchyard', ['ask', ask], { encoding: 'utf8' }).trim() || 'asked');
} else {
  say("I'll reproduce the flaky failure first.");
  await sleep(300);
  await tool('Bash', { command: 'npm test -- test/login.test.ts --repeat 20' }, 'FAIL test/login.test.ts > signs in after a password reset\n  AssertionError: expected 302 to be 200\n  (failed 3 of 20 runs)\n\n  17 passed, 3 failed', true);
  await sleep(300);
  say('3 of 20 runs fail: the test reads the session before the reset request has committed. Let me look at the test.');
  await tool('Read', { file_path: 'test/login.test.ts' }, "41  it('signs in after a password reset', async () => {\n42    void api.post('/reset', { email });\n43    const res = await api.post('/login', { email, password: 'new-pass' });\n44    expect(res.status).toBe(200);");
  await sleep(300);
  await tool('Edit', { file_path: 'test/login.test.ts', old_string: "void api.post('/reset'", new_string: "await api.post('/reset'" }, 'The file test/login.test.ts has been updated.');
  await sleep(300);
  await tool('Bash', { command: 'npm test -- test/login.test.ts --repeat 50' }, 'PASS test/login.test.ts (50 runs)\n  20 passed');
  await sleep(200);
  say('The reset request was fired without being awaited, so the login raced it. Awaiting it makes the test deterministic: 50 of 50 runs pass.');
}
out({ type: 'result', subtype: 'success', is_error: false, num_turns: 6, result: ask ? 'Waiting for an answer.' : 'Fixed the race in test/login.test.ts: the password reset is now awaited before signing in (50/50 runs pass).', total_cost_usd: 0.0412, usage: { input_tokens: 9600, output_tokens: 610, cache_read_input_tokens: 21000, cache_creation_input_tokens: 3100 } });
`;

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'sy-screens-'));
  const claude = join(tmp, 'claude');
  writeFileSync(claude, REPLAY);
  chmodSync(claude, 0o755);
  const config = join(tmp, 'config.yaml');
  writeFileSync(
    config,
    [
      'orchestrator:',
      '  workspace:',
      `    id: ${WORKSPACE}`,
      '    name: Acme web app',
      '  runtime:',
      '    daemon_port: 0',
      '    health_check_interval: 1s',
      '    cpu_threshold: 64', // a busy build machine must not throttle the demo
      '  agents:',
      '    - name: claude-code',
      `      binary: ${claude}`,
      '    - name: fake',
      `      binary: ${join(ROOT, 'test/fixtures/fake-agent.mjs')}`,
      '',
    ].join('\n'),
  );

  const proc = spawn(process.execPath, [join(ROOT, 'bin/switchyard.mjs'), 'up', '--config', config, '--data-dir', join(tmp, 'data'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SWITCHYARD_LOG_FORMAT: 'json', SWITCHYARD_LOG_LEVEL: 'warn' },
  });
  let output = '';
  proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const browserDir = mkdtempSync(join(tmpdir(), 'sy-screens-chromium-'));
  try {
    const link = await until('switchyard up', async () => /Dashboard\s+(http:\/\/\S+)\/#token=(\S+)/.exec(output) ?? undefined);
    const [, url, token] = link as unknown as [string, string, string];
    const sy = new SwitchyardClient({ url, token, workspace: WORKSPACE });
    const create = (agent: string, prompt: string, extra: { priority?: number; maxAttempts?: number; runAfter?: string; model?: string } = {}) =>
      sy.tasks.create({ assignedAgent: agent, prompt, ...extra });

    const fix = await create('claude-code', 'Fix the flaky login test in test/login.test.ts', { priority: 10, model: 'claude-sonnet-4-5' });
    await create('fake', 'Update the changelog for 0.2\n--lines 8 --rate 20');
    const failing = await create('fake', 'Regenerate the OpenAPI client\n--lines 4 --stderr 2 --exit 1', { maxAttempts: 1 });
    const stopped = await create('fake', 'Benchmark the search endpoint\n--lines 5 --hang');
    await create('fake', 'Upgrade the ORM to v7 and fix the deprecation warnings\n--lines 100000 --rate 2', { priority: 5 });
    await create('claude-code', 'Rename the users table to accounts\nASK: Also rename the foreign keys in the billing schema?', { priority: 3 });
    await create('fake', 'Write the release notes for 0.2\n--lines 3', { runAfter: new Date(Date.now() + 3_600_000).toISOString() });
    await create('fake', 'Audit the npm dependencies for licences\n--lines 3', { priority: -5, runAfter: new Date(Date.now() + 7_200_000).toISOString() });

    await until('the fix to complete', async () => (await sy.tasks.get(fix.id)).status === 'completed');
    await until('the failing task to fail', async () => (await sy.tasks.get(failing.id)).status === 'failed');
    await until('the long task to start', async () => (await sy.tasks.get(stopped.id)).status === 'executing');
    await sy.tasks.cancel(stopped.id);
    await until('the question', async () => (await sy.tasks.list({ status: 'blocked' })).items.length > 0);

    mkdirSync(OUT, { recursive: true });
    const context = await chromium.launchPersistentContext(browserDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
      colorScheme: 'light',
    });
    try {
      const page = await context.newPage();
      await page.goto(`${url}/#token=${token}`);
      await page.waitForSelector('[data-testid="board"]');
      await page.selectOption('select[aria-label="Workspace"]', WORKSPACE);
      await page.waitForSelector(`[data-task-id="${fix.id}"]`);
      await page.waitForTimeout(500);
      await page.screenshot({ path: join(OUT, 'board.png') });
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`${url}/#/tasks/${fix.id}`);
      await page.waitForSelector('[data-testid="run"]');
      await page.locator('.tool.is-error summary').first().click();
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(OUT, 'task.png') });
      console.log(`wrote ${join(OUT, 'board.png')} and ${join(OUT, 'task.png')}`);
    } finally {
      await context.close();
    }
  } catch (err) {
    console.error(output.slice(-3000));
    throw err;
  } finally {
    proc.kill('SIGTERM');
    await exited;
    rmSync(tmp, { recursive: true, force: true });
    rmSync(browserDir, { recursive: true, force: true });
  }
}

await main();

/**
 * The real agent CLIs end to end: a task created over REST, a daemon that
 * spawns the real `claude`, `codex` or `gemini` (through its adapter, with the
 * argv, stdin and environment a user's daemon would give it), and a scripted
 * mock model API (test/fixtures/mockModel) in place of the provider. The mock
 * makes the CLI call its own tools, so files really get written by the CLI
 * (in a git worktree of a repository the task names, or the task's plain
 * working directory), and scripts API errors and a model that never answers.
 *
 * The CLIs are not project dependencies (~900 MB): scripts/ci/install-agent-clis.sh
 * installs pinned versions into a cache folder and `.ci/run` points
 * SWITCHYARD_AGENT_CLIS_BIN at it (else they are looked up on PATH). A CLI
 * that is missing is reported and its tests skipped — unless
 * SWITCHYARD_REQUIRE_AGENT_CLIS=1 (CI), where a missing CLI fails the suite.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwitchyardClient, Task, TaskRun } from '../../src/client/index.js';
import { which } from '../../src/daemon/detect.js';
import { runDir } from '../../src/daemon/state.js';
import { startMockModel, httpError, streamError, hang, text, tool, type MockModel, type MockUsage, type ModelRequest, type ScriptStep, type Turn } from '../fixtures/mockModel/index.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const BIN_DIR = process.env.SWITCHYARD_AGENT_CLIS_BIN;
const REQUIRE = process.env.SWITCHYARD_REQUIRE_AGENT_CLIS === '1';

type Section = Record<string, unknown>;

interface CliCase {
  agent: 'claude-code' | 'codex' | 'gemini';
  bin: string;
  model: string;
  /** The config entry that points the CLI at the mock (binary added by the suite). */
  entry(mockUrl: string, home: string): Section;
  /** A scripted tool call that makes the CLI write `content` into `name` in its working directory. */
  writeFile(name: string, content: string): ScriptStep;
  /** A scripted tool call running a shell command in the working directory. */
  shell(command: string): ScriptStep;
  /**
   * An API error that ends a run after its tool call, without the CLI retrying
   * it (Claude Code repeats a generic 400 once without a beta header, Gemini CLI
   * retries 5xx with backoff).
   */
  failTurn: Turn;
  /** Whether the CLI reports a cost (only Claude Code does). */
  reportsCost: boolean;
  /** Scripted API errors and the failure class the adapter must give each. */
  errors: { what: string; turns: Turn[]; failureClass: string }[];
  /**
   * Idle timeout for the watchdog test. The watchdog runs from the spawn, and
   * Gemini CLI prints nothing while it starts — it loads its bundle twice, as
   * it relaunches itself with a bigger heap: 1.8 s on an idle 2-CPU machine,
   * 3-6 s on a busy one — so it gets more than the others.
   */
  idleTimeout: string;
}

/** The working directory a request names, or a clear error (answered as HTTP 500, failing the run visibly). */
const cwdOf = (req: ModelRequest): string => {
  if (!req.cwd) throw new Error(`the ${req.api} request names no working directory`);
  return req.cwd;
};

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const CONTEXT_ERROR = 'prompt is too long: 215000 tokens > 200000 maximum';

const CLIS: CliCase[] = [
  {
    agent: 'claude-code',
    bin: 'claude',
    model: 'claude-sonnet-4-5',
    entry: (mockUrl, home) => ({
      env: {
        HOME: home,
        ANTHROPIC_BASE_URL: mockUrl,
        ANTHROPIC_API_KEY: 'test',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_MAX_RETRIES: '0',
      },
    }),
    writeFile: (name, content) => (req) => tool('Write', { file_path: join(cwdOf(req), name), content: `${content}\n` }, `I will write ${name}.`),
    shell: (command) => tool('Bash', { command, description: 'Run a command' }),
    failTurn: httpError(500, 'Internal server error'),
    reportsCost: true,
    errors: [
      { what: 'HTTP 400, prompt too long', turns: [httpError(400, CONTEXT_ERROR)], failureClass: 'context_overflow' },
      { what: 'HTTP 401', turns: [httpError(401, 'invalid x-api-key')], failureClass: 'auth' },
      // The stream breaks; Claude Code repeats the request without streaming (its fallback), which fails too.
      { what: 'an error event inside the stream', turns: [streamError('Overloaded'), streamError('Overloaded')], failureClass: 'agent_error' },
    ],
    idleTimeout: '3s',
  },
  {
    agent: 'codex',
    bin: 'codex',
    model: 'mock-model',
    entry: (mockUrl, home) => ({
      args: [
        '-c', 'model_provider=mock',
        '-c', 'model_providers.mock.name=mock',
        '-c', `model_providers.mock.base_url="${mockUrl}/v1"`,
        '-c', 'model_providers.mock.env_key=MOCK_KEY',
        '-c', 'model_providers.mock.wire_api=responses',
        '-c', 'model_providers.mock.request_max_retries=0',
        '-c', 'model_providers.mock.stream_max_retries=0',
      ],
      env: { HOME: home, MOCK_KEY: 'test' },
    }),
    writeFile: (name, content) => tool('exec_command', { cmd: `printf '%s\\n' ${sq(content)} > ${sq(name)}` }),
    shell: (command) => tool('exec_command', { cmd: command }),
    failTurn: httpError(500, 'Internal server error'),
    reportsCost: false,
    errors: [
      { what: 'HTTP 400, context window exceeded', turns: [httpError(400, CONTEXT_ERROR, 'context_length_exceeded')], failureClass: 'context_overflow' },
      { what: 'HTTP 401', turns: [httpError(401, 'Incorrect API key provided', 'invalid_api_key')], failureClass: 'auth' },
      { what: 'response.failed inside the stream', turns: [streamError('The server had an error while processing your request')], failureClass: 'agent_error' },
    ],
    idleTimeout: '3s',
  },
  {
    agent: 'gemini',
    bin: 'gemini',
    model: 'gemini-mock',
    entry: (mockUrl, home) => ({ env: { HOME: home, GEMINI_API_KEY: 'test', GOOGLE_GEMINI_BASE_URL: mockUrl } }),
    writeFile: (name, content) => (req) => tool('write_file', { file_path: join(cwdOf(req), name), content: `${content}\n` }),
    shell: (command) => tool('run_shell_command', { command, description: 'Run a command' }),
    failTurn: httpError(400, 'Request contains an invalid argument.'),
    reportsCost: false,
    // Gemini CLI retries 5xx and broken streams itself (with backoff), so only non-retried statuses are scripted.
    errors: [
      { what: 'HTTP 400, input too long', turns: [httpError(400, 'The input token count (215000) exceeds the maximum number of tokens allowed (200000).')], failureClass: 'context_overflow' },
      { what: 'HTTP 401', turns: [httpError(401, 'API key not valid. Please pass a valid API key.', 'UNAUTHENTICATED')], failureClass: 'auth' },
    ],
    idleTimeout: '8s',
  },
];

/** The CLI's binary: in SWITCHYARD_AGENT_CLIS_BIN, else on PATH. */
function locate(bin: string): string | undefined {
  if (BIN_DIR) {
    const p = join(BIN_DIR, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // fall back to PATH
    }
  }
  return which(bin) ?? undefined;
}

const found = CLIS.map((c) => ({ cli: c, binary: locate(c.bin) }));
const present = found.filter((f): f is { cli: CliCase; binary: string } => f.binary !== undefined);
for (const { cli, binary } of found) {
  if (binary) continue;
  const where = `looked in SWITCHYARD_AGENT_CLIS_BIN=${BIN_DIR ?? '(unset)'} and on PATH; install with scripts/ci/install-agent-clis.sh`;
  if (!REQUIRE) console.warn(`[realAgents] ${cli.agent}: \`${cli.bin}\` is NOT INSTALLED (${where}) — its end-to-end tests are SKIPPED`);
}

// Scripted token counts, distinct per turn so the sums can be checked.
const TOOL_USAGE = { input: 100, output: 20, cacheRead: 30 };
const FINAL_USAGE = { input: 150, output: 10, cacheRead: 30 };

// The test config's 2 s lease and 500 ms heartbeat are for the fake agent:
// real CLIs on a busy CI machine starve this process (server, daemons and
// test share it) for longer than that. (A heartbeat missed at the start of a
// run cancels the run, see the report on server/daemonHub's `started`.)
const runtime = { lease: '15s' };
const streaming = { heartbeat_interval: '5s' };

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'blocked']);

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });

/** A tool or text step with the given token counts. */
const withUsage =
  (step: ScriptStep, usage: MockUsage): ScriptStep =>
  (req) => {
    const turn = typeof step === 'function' ? step(req) : step;
    return turn.kind === 'tool' || turn.kind === 'text' ? { ...turn, usage } : turn;
  };

describe('the real agent CLIs against a scripted model API', () => {
  let s: TestServer;
  let mock: MockModel;
  let ws: WorkspaceHandle;
  let idleWs: WorkspaceHandle;
  let d: TestDaemon | undefined;
  let idleDaemon: TestDaemon | undefined;
  /** A git repository with one commit on `main`, for tasks that work in a worktree. */
  let repo: string;

  beforeAll(async () => {
    if (present.length === 0) return;
    mock = await startMockModel();
    repo = tempDir('sy-agent-repo-');
    git(repo, 'init', '--quiet', '--initial-branch=main');
    writeFileSync(join(repo, 'README'), 'hello\n');
    git(repo, 'add', 'README');
    git(repo, 'commit', '--quiet', '-m', 'initial');
    const homes = tempDir('sy-agent-homes-');
    const agents = (idle: boolean) =>
      present.map(({ cli, binary }) => {
        const home = join(homes, cli.agent);
        const e = cli.entry(mock.url, home);
        return {
          name: cli.agent,
          binary,
          default_model: cli.model,
          ...e,
          // Short enough that a hang fails fast; the watchdog test's daemon uses the CLI's own short one.
          idle_timeout: idle ? cli.idleTimeout : '45s',
          wall_timeout: '90s',
          // The main daemon checks each CLI's --version; the watchdog daemon skips
          // it (one Gemini CLI probe takes 2-4 s of CPU on a small machine).
          ...(idle ? { version_args: [] } : {}),
        };
      });
    mkdirSync(join(homes, 'gemini', '.gemini'), { recursive: true });
    // Gemini CLI takes its auth type from settings.json; usage statistics and updates off.
    writeFileSync(
      join(homes, 'gemini', '.gemini', 'settings.json'),
      JSON.stringify({ privacy: { usageStatisticsEnabled: false }, general: { disableAutoUpdate: true }, security: { auth: { selectedType: 'gemini-api-key' } } }),
    );
    s = await startTestServer({ config: { agents: agents(false), runtime, streaming } });
    ws = await s.workspace('real-agents');
    idleWs = await s.workspace('real-agents-idle');
    // One daemon per workspace (workspace-scoped daemon tokens): the second one has the short idle timeouts.
    d = await startTestDaemon(s.url, ws.tokens.daemon, { config: { agents: agents(false), runtime, streaming }, name: 'real-agents' });
    idleDaemon = await startTestDaemon(s.url, idleWs.tokens.daemon, { config: { agents: agents(true), runtime, streaming }, name: 'real-agents-idle' });
    for (const daemon of [d, idleDaemon]) {
      for (const { cli } of present) {
        const check = daemon.agents().find((a) => a.name === cli.agent);
        expect(check, `the daemon's check of ${cli.agent}: ${JSON.stringify(check)}`).toMatchObject({ status: 'ok' });
      }
    }
  }, 60_000);

  afterAll(async () => {
    await idleDaemon?.stop();
    await d?.stop();
    await s?.close();
    await mock?.close();
  });

  /** Waits until the task stops moving (a terminal state, or blocked) at `attempt` or later. */
  const settled = async (client: SwitchyardClient, id: string, attempt = 1, timeoutMs = 45_000): Promise<Task> => {
    try {
      return await until(
        async () => {
          const t = await client.tasks.get(id);
          return TERMINAL.has(t.status) && t.attempt >= attempt && t.runAfter === null ? t : undefined;
        },
        `task ${id} to settle`,
        timeoutMs,
        100,
      );
    } catch (err) {
      const t = await client.tasks.get(id);
      throw new Error(`${(err as Error).message}\n${(await inspect(client, t)).why()}`, { cause: err });
    }
  };

  /** Task, its runs and events, for assertions and failure messages. */
  async function inspect(client: SwitchyardClient, t: Task) {
    const runs = (await client.tasks.runs(t.id)).items.sort((a, b) => a.attempt - b.attempt);
    const events = (await client.tasks.events(t.id, 0, 5000)).items;
    const why = () =>
      [
        `task ${t.id}: ${t.status} (${t.statusReason ?? ''})`,
        `timeline: ${(t.timeline ?? []).map((x) => `${x.from ?? '-'}→${x.to} by ${x.actor} (attempt ${x.attempt}${x.reason ? `: ${x.reason}` : ''})`).join('; ')}`,
        ...runs.map((r: TaskRun) => `run ${r.attempt}: ${r.status} exit=${r.exitCode} signal=${r.signal} class=${r.failureClass} reason=${r.failureReason}\n  stderr: ${(r.stderrTail ?? '').slice(-1500)}`),
        `events:\n${events.map((e) => `  ${e.attempt}/${e.seq} ${e.stream} ${e.kind}: ${(e.text ?? e.raw).slice(0, 200)}`).join('\n')}`,
        `mock model requests:\n${mock.summary()}`,
      ].join('\n');
    return { runs, events, why };
  }

  for (const { cli, binary } of found) {
    const suite = binary || REQUIRE ? describe : describe.skip;
    // One test after the other, one CLI after the other: CLI runs are CPU-heavy,
    // and side by side on a 2-CPU machine they slowed each other past idle
    // timeouts (each test has its own script on the mock all the same, see `tag`).
    suite(`${cli.agent} (${binary ?? 'not installed'})`, () => {
      if (!binary && REQUIRE) {
        it('is installed (SWITCHYARD_REQUIRE_AGENT_CLIS=1)', () => {
          throw new Error(`${cli.agent}: \`${cli.bin}\` is not installed: looked in SWITCHYARD_AGENT_CLIS_BIN=${BIN_DIR ?? '(unset)'} and on PATH. Run scripts/ci/install-agent-clis.sh and export SWITCHYARD_AGENT_CLIS_BIN=<the bin dir it prints>.`);
        });
        return;
      }
      // Each test's prompt starts with its own tag, which gives it its own script on the mock.
      const tag = (name: string) => `[${cli.agent} ${name}]`;

      it('runs a task in a worktree of a repository: the CLI writes a file through its own tool, the diff, answer and usage are stored, the task completes', async ({ expect }) => {
        const client = ws.client();
        const conv = mock.conversation(tag('write'), [
          withUsage(cli.writeFile('hello.txt', `hello from ${cli.agent}`), TOOL_USAGE),
          text(`Wrote hello.txt for ${cli.agent}.`, FINAL_USAGE),
        ]);
        const prompt = `${conv.key} Create hello.txt with a greeting.`;
        const t = await client.tasks.create({ assignedAgent: cli.agent, prompt, maxAttempts: 1, repo, baseRef: 'main' });
        const done = await settled(client, t.id);
        const { runs, events, why } = await inspect(client, done);
        expect(done.status, why()).toBe('completed');

        // The daemon's worktree of the repository, on the task's own branch.
        const workdir = join(d!.stateDir, 'worktrees', t.id);
        expect(readFileSync(join(workdir, 'hello.txt'), 'utf8')).toBe(`hello from ${cli.agent}\n`);
        expect(readFileSync(join(workdir, 'README'), 'utf8')).toBe('hello\n');
        expect(done.resultText).toBe(`Wrote hello.txt for ${cli.agent}.`);

        const turns = conv.requests();
        expect(turns, why()).toHaveLength(2);
        // The CLI ran in the task's working directory, and sent the tool's result back.
        expect(realpathSync(turns[0]!.cwd ?? '(none)')).toBe(realpathSync(workdir));
        expect(turns[0]!.lastUserText).toContain(prompt);
        expect(turns[1]!.toolResults, why()).toHaveLength(1);
        expect(turns.every((r) => r.model === cli.model)).toBe(true);

        expect(runs).toHaveLength(1);
        const run = runs[0]!;
        expect(run).toMatchObject({ status: 'completed', exitCode: 0, failureClass: null, model: cli.model, resultText: done.resultText });
        expect(run.sessionId).toBeTruthy();
        expect(done.sessionId).toBe(run.sessionId);
        expect(run.diff, why()).toMatchObject({ branch: `switchyard/${t.id}`, files: [{ path: 'hello.txt', insertions: 1, deletions: 0 }], insertions: 1, deletions: 0 });
        // The user's checkout is untouched: the work is on the task's branch in the daemon's cache.
        expect(git(repo, 'status', '--porcelain')).toBe('');
        expect(run.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
        // Two model calls: 250 uncached input, 30 output, 60 read from the cache.
        expect(run.usage).toMatchObject({ inputTokens: 250, outputTokens: 30, cacheReadTokens: 60 });
        if (cli.reportsCost) expect(run.costUsd).toBeGreaterThan(0);
        else expect(run.costUsd).toBeNull();

        const kinds = new Set(events.map((e) => e.kind));
        for (const k of ['tool_call', 'tool_result', 'usage', 'result']) expect(kinds, `event kinds: ${[...kinds].join(', ')}`).toContain(k);
        expect(conv.remaining()).toBe(0);
      }, 60_000);

      it('resumes its own session on a retry, sending only a short note on the failure', async ({ expect }) => {
        const client = ws.client();
        const conv = mock.conversation(tag('retry'), [cli.writeFile('draft.txt', 'first attempt'), cli.failTurn]);
        const prompt = `${conv.key} Write draft.txt, then finish.`;
        const t = await client.tasks.create({ assignedAgent: cli.agent, prompt, maxAttempts: 1 });
        const failed = await settled(client, t.id);
        const first = await inspect(client, failed);
        expect(failed.status, first.why()).toBe('failed');
        const firstRun = first.runs[0]!;
        expect(firstRun.sessionId, first.why()).toBeTruthy();
        const firstTurns = conv.requests();
        expect(firstTurns, first.why()).toHaveLength(2);

        conv.script([text('Finished on the second attempt.')]);
        await client.tasks.retry(t.id, 'try again');
        const done = await settled(client, t.id, 2);
        const second = await inspect(client, done);
        expect(done.status, second.why()).toBe('completed');
        expect(done.resultText).toBe('Finished on the second attempt.');
        expect(second.runs).toHaveLength(2);
        const resumedTurns = conv.requests().slice(firstTurns.length);
        expect(resumedTurns, second.why()).toHaveLength(1);
        const resumed = resumedTurns[0]!;

        // The same session: the CLI's id is unchanged, and the model sees the first attempt's conversation…
        expect(second.runs[1]!.sessionId, second.why()).toBe(firstRun.sessionId);
        if (firstTurns[0]!.sessionId) expect(resumed.sessionId).toBe(firstTurns[0]!.sessionId);
        // (Claude Code folds the new text into the last user message, next to the tool result: same length.)
        expect(resumed.historyLength, 'the resumed request carries the earlier conversation').toBeGreaterThanOrEqual(firstTurns.at(-1)!.historyLength);
        expect(resumed.toolCallsInHistory.length, 'the first attempt\'s tool call is in the history').toBeGreaterThan(0);
        expect(resumed.toolResults.length, 'the first attempt\'s tool result is in the history').toBeGreaterThan(0);
        // …with only the new input: a short note on the failure, not the original prompt again.
        expect(resumed.lastUserText).not.toContain(prompt);
        expect(resumed.lastUserText).toMatch(/fail/i);
        expect(resumed.userTexts.filter((u) => u.includes(prompt))).toHaveLength(1);
        // The first attempt's file is still there for it.
        expect(existsSync(join(runDir(d!.stateDir, ws.id, t.id), 'draft.txt'))).toBe(true);
      }, 90_000);

      it('blocks on a question asked with `switchyard ask`, then resumes its session with only the answer', async ({ expect }) => {
        const client = ws.client();
        const question = 'Which greeting should hello.txt have?';
        // As the prompt's preamble tells agents to: run the daemon's `switchyard` shim by its absolute path
        // (Codex runs commands in a login shell, whose profile resets PATH).
        const shim = join(d!.stateDir, 'bin', 'switchyard');
        const conv = mock.conversation(tag('ask'), [
          cli.shell(`${shim} ask ${sq(question)}`),
          text('I asked the user and will wait for the answer.'),
        ]);
        const prompt = `${conv.key} Create hello.txt; ask me which greeting first.`;
        const t = await client.tasks.create({ assignedAgent: cli.agent, prompt, maxAttempts: 1 });
        const blocked = await settled(client, t.id);
        const first = await inspect(client, blocked);
        expect(blocked.status, first.why()).toBe('blocked');
        expect(blocked.question).toBe(question);
        const firstTurns = conv.requests();
        expect(firstTurns[0]!.userTexts.join('\n'), 'the preamble names the shim').toContain(shim);

        conv.script([cli.writeFile('hello.txt', 'Good morning'), text('Wrote the greeting you chose.')]);
        await client.tasks.answer(t.id, 'Use "Good morning".');
        const done = await settled(client, t.id, 2);
        const second = await inspect(client, done);
        expect(done.status, second.why()).toBe('completed');
        expect(readFileSync(join(runDir(d!.stateDir, ws.id, t.id), 'hello.txt'), 'utf8')).toBe('Good morning\n');

        const resumed = conv.requests()[firstTurns.length]!;
        expect(second.runs[1]!.sessionId).toBe(first.runs[0]!.sessionId);
        if (firstTurns[0]!.sessionId) expect(resumed.sessionId).toBe(firstTurns[0]!.sessionId);
        expect(resumed.historyLength).toBeGreaterThanOrEqual(firstTurns.at(-1)!.historyLength);
        expect(resumed.toolCallsInHistory.length, 'the `switchyard ask` call is in the history').toBeGreaterThan(0);
        expect(resumed.lastUserText).toContain('Good morning');
        expect(resumed.lastUserText).not.toContain(prompt);
      }, 90_000);

      it('is stopped by the idle watchdog when the model never answers, failing as timeout_idle', async ({ expect }) => {
        const client = idleWs.client();
        // The watchdog also runs while the CLI starts; on a busy machine a start
        // slower than the idle timeout is stopped before it asks the model, which
        // proves nothing here: such an attempt is repeated (at most 3 in all).
        for (let attempt = 1; ; attempt++) {
          const conv = mock.conversation(tag(`hang ${attempt}`), [hang()]);
          const t = await client.tasks.create({ assignedAgent: cli.agent, prompt: `${conv.key} Say hello.`, maxAttempts: 1 });
          const failed = await settled(client, t.id);
          const { runs, why } = await inspect(client, failed);
          expect(failed.status, why()).toBe('failed');
          expect(runs[0], why()).toMatchObject({ status: 'failed', failureClass: 'timeout_idle' });
          expect(runs[0]!.failureReason).toMatch(/no output for \d+ s/);
          if (conv.requests().length === 0 && attempt < 3) {
            console.warn(`[realAgents] ${cli.agent}: stopped by the idle watchdog before it called the model (slow start); trying again`);
            continue;
          }
          // It was the model that never answered: the request arrived and was held…
          expect(conv.requests().map((r) => r.answered), why()).toEqual(['hang']);
          // …until the daemon stopped the CLI's whole process group, which dropped the connection.
          await until(() => conv.hanging() === 0, 'the held request to be closed by the stopped CLI');
          break;
        }
      }, 90_000);

      // Short, independent runs (each its own script): side by side.
      describe('scripted API errors', { concurrent: true }, () => {
        for (const [i, e] of cli.errors.entries()) {
          it(`fails on a scripted API error (${e.what}) with failure class ${e.failureClass}, whatever its exit code`, async ({ expect }) => {
            const client = ws.client();
            const conv = mock.conversation(tag(`error ${i}`), e.turns);
            const t = await client.tasks.create({ assignedAgent: cli.agent, prompt: `${conv.key} Say hello.`, maxAttempts: 1 });
            const failed = await settled(client, t.id);
            const { runs, why } = await inspect(client, failed);
            expect(failed.status, why()).toBe('failed');
            expect(runs).toHaveLength(1);
            expect(runs[0], why()).toMatchObject({ status: 'failed', failureClass: e.failureClass });
            expect(runs[0]!.failureReason).toBeTruthy();
            expect(failed.resultText).toBeNull();
            expect(conv.remaining(), why()).toBe(0);
          }, 60_000);
        }
      });
    });
  }
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { codex } from '../../src/agents/codex.js';
import { EXIT_0, fixtureLines, hostilePrompt, kinds, markerDir, ofKind, parse, received, spec } from './helpers.js';

const line = (o: unknown) => JSON.stringify(o);
const started = line({ type: 'thread.started', thread_id: 't-1' });

describe('codex invocation', () => {
  it('runs exec --json in a writable sandbox with the prompt on stdin and its own CODEX_HOME', () => {
    const inv = codex.buildInvocation(spec());
    expect(inv.args).toEqual(['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', '-c', 'sandbox_workspace_write.network_access=true', '--cd=/work/tree', '-']);
    expect(inv.stdin).toBe('Say hi');
    expect(inv.env).toEqual({ CODEX_HOME: '/scratch/run-1/codex-home' });
    expect(inv.ensureDirs).toEqual(['/scratch/run-1/codex-home']);
  });

  it('keeps CODEX_HOME in the task’s session dir, so a resumed run finds the thread', () => {
    const inv = codex.buildInvocation(spec({ sessionDir: '/state/tasks/42' }));
    expect(inv.env.CODEX_HOME).toBe('/state/tasks/42/codex-home');
  });

  it('adds the model and extra options before the prompt', () => {
    const inv = codex.buildInvocation(spec({ model: 'gpt-5-codex', extraArgs: ['-c', 'model_provider=mock'] }));
    expect(inv.args.slice(8)).toEqual(['--model=gpt-5-codex', '-c', 'model_provider=mock', '-']);
  });

  it('resumes with `exec … resume -- <thread> -`, keeping the exec-only options before the subcommand', () => {
    const inv = codex.buildInvocation(spec({ model: 'm', resumeSessionId: '01a21780-c627-7790-9290-f588a349b6fe' }));
    expect(inv.args).toEqual([
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--sandbox',
      'workspace-write',
      '-c',
      'sandbox_workspace_write.network_access=true',
      '--cd=/work/tree',
      '--model=m',
      'resume',
      '--',
      '01a21780-c627-7790-9290-f588a349b6fe',
      '-',
    ]);
  });

  it('passes a hostile prompt on stdin byte for byte', () => {
    const prompt = hostilePrompt(markerDir());
    const inv = codex.buildInvocation(spec({ prompt }));
    const got = received(inv);
    expect(got).toEqual({ argv: inv.args, stdin: prompt });
  });

  it('reads the version after any warning line', () => {
    const out = 'WARNING: proceeding, even though we could not create PATH aliases\ncodex-cli 0.169.0\n';
    expect(codex.parseVersion(out)).toBe('0.169.0');
  });
});

describe('codex parser on recorded runs', () => {
  afterEach(() => vi.useRealTimers());

  it('reads a text answer: thread id, usage and the answer; an error item is only a warning', () => {
    const { events, facts, outcome } = parse(codex, fixtureLines('codex.exec-json.jsonl'));
    expect(kinds(events)).toEqual(['status', 'status', 'status', 'text', 'usage', 'result']);
    expect(events[1]?.data).toMatchObject({ severity: 'warning' });
    expect(facts).toEqual({
      sawFinal: true,
      sessionId: '01a2168f-2e39-7f12-bb75-94b12739598b',
      resultText: 'Hello from the codex mock.',
      usage: { inputTokens: 10, outputTokens: 6, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
    expect(outcome).toEqual({ status: 'completed', resultText: 'Hello from the codex mock.' });
  });

  it('reads a command execution as a tool call and its result', () => {
    const { events, facts, outcome } = parse(codex, fixtureLines('codex.tool-use.exec-json.jsonl'));
    const command = `/bin/bash -lc 'echo "written by codex tool call" > tool-output.txt && cat tool-output.txt'`;
    expect(ofKind(events, 'tool_call').map((e) => e.data)).toEqual([{ name: 'shell', id: 'item_1', input: { command } }]);
    expect(ofKind(events, 'tool_result').map((e) => e.data)).toEqual([
      { id: 'item_1', name: 'shell', output: 'written by codex tool call\n', isError: false, exitCode: 0 },
    ]);
    expect(facts.usage).toEqual({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 0, cacheWriteTokens: 0 });
    expect(outcome).toEqual({ status: 'completed', resultText: 'Done: ran the command and wrote tool-output.txt.' });
  });

  it('keeps cached input apart; a resumed run reports the thread’s total', () => {
    const { facts } = parse(codex, fixtureLines('codex.resumed.exec-json.jsonl'));
    expect(facts.sessionId).toBe('01a21780-c627-7790-9290-f588a349b6fe');
    expect(facts.usage).toEqual({ inputTokens: 120, outputTokens: 40, cacheReadTokens: 80, cacheWriteTokens: 0 });
  });

  it('fails a failed turn and classifies an auth error', () => {
    const { events, outcome } = parse(codex, fixtureLines('codex.auth-error.exec-json.jsonl'), { code: 1, signal: null });
    expect(kinds(events).slice(-3)).toEqual(['error', 'error', 'result']);
    expect(outcome).toMatchObject({ status: 'failed', failureClass: 'auth' });
    expect(outcome.status === 'failed' && outcome.reason).toMatch(/^turn failed: unexpected status 401 Unauthorized/);
  });

  it('reads the reset time of a usage limit (local time of the machine that printed it)', () => {
    vi.useFakeTimers({ now: new Date(2026, 10, 26, 10, 55) });
    const { outcome } = parse(codex, fixtureLines('codex.usage-limit.exec-json.jsonl'), { code: 1, signal: null });
    expect(outcome).toMatchObject({ status: 'failed', failureClass: 'rate_limited', retryAt: new Date(2026, 10, 26, 12, 55).toISOString() });
  });

  it('puts a reset time that has passed today on tomorrow', () => {
    vi.useFakeTimers({ now: new Date(2026, 10, 26, 13, 0) });
    const { outcome } = parse(codex, fixtureLines('codex.usage-limit.exec-json.jsonl'), { code: 1, signal: null });
    expect(outcome).toMatchObject({ retryAt: new Date(2026, 10, 27, 12, 55).toISOString() });
  });

  it('classifies a full context window', () => {
    const { outcome } = parse(codex, fixtureLines('codex.context-window.exec-json.jsonl'), { code: 1, signal: null });
    expect(outcome).toMatchObject({ status: 'failed', failureClass: 'context_overflow' });
  });

  it('treats reconnect notices as warnings and fails on the final turn.failed', () => {
    const { events, outcome } = parse(codex, fixtureLines('codex.stream-dropped.exec-json.jsonl'), { code: 1, signal: null });
    expect(ofKind(events, 'status').filter((e) => e.text?.startsWith('Reconnecting'))).toHaveLength(2);
    expect(outcome).toEqual({
      status: 'failed',
      reason: 'turn failed: stream disconnected before completion: stream closed before response.completed',
      failureClass: 'agent_error',
    });
  });

  it('fails a run killed before the turn ended', () => {
    const { facts, outcome } = parse(codex, fixtureLines('codex.no-answer-killed.exec-json.jsonl'), { code: null, signal: 'SIGKILL' });
    expect(facts.sessionId).toBe('01a2177f-ec6c-74a2-9b36-c617a5495f02');
    expect(outcome).toEqual({ status: 'failed', reason: 'ended without a final result event (killed by SIGKILL)' });
  });
});

describe('codex parser on hand-written streams', () => {
  it('reads file changes, MCP calls, reasoning and plans', () => {
    const stream = [
      started,
      line({ type: 'item.completed', item: { id: 'r1', type: 'reasoning', text: 'Think.' } }),
      line({ type: 'item.started', item: { id: 'f1', type: 'file_change', changes: [{ path: 'a.txt', kind: 'add' }], status: 'in_progress' } }),
      line({ type: 'item.completed', item: { id: 'f1', type: 'file_change', changes: [{ path: 'a.txt', kind: 'add' }], status: 'completed' } }),
      line({ type: 'item.completed', item: { id: 'm1', type: 'mcp_tool_call', server: 'switchyard', tool: 'ask_user', arguments: { question: 'A or B?' }, status: 'failed', error: { message: 'no answer' } } }),
      line({ type: 'item.updated', item: { id: 'p1', type: 'todo_list', items: [{ text: 'write', completed: true }, { text: 'test', completed: false }] } }),
      line({ type: 'item.completed', item: { id: 'c1', type: 'command_execution', command: 'false', aggregated_output: '', exit_code: 1, status: 'failed' } }),
    ];
    const { events } = parse(codex, stream);
    expect(kinds(events)).toEqual(['status', 'thinking', 'tool_call', 'tool_result', 'tool_call', 'tool_result', 'status', 'tool_call', 'tool_result']);
    expect(ofKind(events, 'tool_result').map((e) => [e.data?.name, e.data?.isError, e.text])).toEqual([
      ['file_change', false, 'add a.txt'],
      ['switchyard.ask_user', true, 'no answer'],
      ['shell', true, ''],
    ]);
    expect(events[6]?.text).toBe('plan:\n[x] write\n[ ] test');
  });

  it('fails on a stderr usage limit when no event came', () => {
    const stderr = ["ERROR: You've hit your usage limit. Upgrade to Pro or try again in 3 hours."];
    const { outcome } = parse(codex, [started], { code: 1, signal: null }, stderr);
    expect(outcome).toMatchObject({ status: 'failed', failureClass: 'rate_limited' });
    expect(outcome.status === 'failed' && outcome.retryAt).toBeTruthy();
  });

  it('turns garbage into raw events without throwing', () => {
    const { events, outcome } = parse(codex, ['garbage', '{"type":', started, '\u0000\u0001', line({ type: 'turn.completed', usage: {} })], EXIT_0);
    expect(kinds(events)).toEqual(['raw', 'raw', 'status', 'raw', 'usage', 'result']);
    expect(outcome).toEqual({ status: 'completed' });
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gemini } from '../../src/agents/gemini.js';
import { EXIT_0, fixtureLines, hostilePrompt, kinds, markerDir, ofKind, parse, received, spec } from './helpers.js';

const line = (o: unknown) => JSON.stringify(o);
const init = line({ type: 'init', session_id: 'g-1', model: 'gemini-mock' });

describe('gemini invocation', () => {
  it('runs headless with stream-json, yolo approvals and a trusted folder', () => {
    const inv = gemini.buildInvocation(spec());
    expect(inv.args).toEqual(['--prompt=Say hi', '--output-format', 'stream-json', '--approval-mode', 'yolo', '--skip-trust']);
    expect(inv.stdin).toBeUndefined();
    expect(inv.env).toEqual({});
  });

  it('adds the model, the session to resume and extra options', () => {
    const inv = gemini.buildInvocation(spec({ model: 'gemini-3.8-flash', resumeSessionId: '22b36da7-34f6-4bf4-9979-d9f9e0aa60c5', extraArgs: ['--debug'] }));
    expect(inv.args.slice(6)).toEqual(['--model=gemini-3.8-flash', '--resume=22b36da7-34f6-4bf4-9979-d9f9e0aa60c5', '--debug']);
  });

  it('keeps a hostile prompt in one argument, byte for byte after `--prompt=`', () => {
    const dir = markerDir();
    const prompt = hostilePrompt(dir);
    const inv = gemini.buildInvocation(spec({ prompt }));
    const got = received(inv);
    expect(got.argv).toEqual(inv.args);
    expect(got.argv[0]).toBe(`--prompt=${prompt}`);
    expect(got.argv.filter((a) => a.includes('pwned'))).toHaveLength(1);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('moves a prompt too long for one argument to stdin', () => {
    const prompt = `${'x'.repeat(150_000)}\n--help`;
    const inv = gemini.buildInvocation(spec({ prompt }));
    expect(inv.args.some((a) => a.startsWith('--prompt'))).toBe(false);
    expect(inv.stdin).toBe(prompt);
  });

  it('reads the version', () => {
    expect(gemini.parseVersion('0.61.0\n')).toBe('0.61.0');
  });
});

describe('gemini parser on recorded runs', () => {
  afterEach(() => vi.useRealTimers());

  it('reads a text answer: session, model, usage and the answer', () => {
    const { events, facts, outcome } = parse(gemini, fixtureLines('gemini.stream-json.jsonl'));
    expect(kinds(events)).toEqual(['status', 'status', 'text', 'usage', 'result']);
    expect(facts).toEqual({
      sawFinal: true,
      sessionId: 'da137b39-8ec3-4578-bfda-862469cb80fe',
      model: 'gemini-mock',
      resultText: 'Hello from the gemini mock.',
      usage: { inputTokens: 10, outputTokens: 6, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
    expect(outcome).toEqual({ status: 'completed', resultText: 'Hello from the gemini mock.' });
  });

  it('reads a tool call and keeps only the text after it as the answer', () => {
    const { events, outcome } = parse(gemini, fixtureLines('gemini.tool-use.stream-json.jsonl'));
    const id = 'run_shell_command__run_shell_command_1795679438894_0';
    expect(ofKind(events, 'tool_call')[0]?.data).toMatchObject({ name: 'run_shell_command', id });
    expect(ofKind(events, 'tool_call')[0]?.text).toBe('run_shell_command: echo "written by gemini tool call" > tool-output.txt && cat tool-output.txt');
    expect(ofKind(events, 'tool_result')[0]?.data).toEqual({ id, status: 'success', isError: false, output: 'written by gemini tool call' });
    expect(outcome).toEqual({ status: 'completed', resultText: 'Done: ran the command and wrote tool-output.txt.' });
  });

  it('counts cached input apart and keeps the session id on resume', () => {
    const first = parse(gemini, fixtureLines('gemini.hostile-prompt.stream-json.jsonl'));
    const resumed = parse(gemini, fixtureLines('gemini.resumed.stream-json.jsonl'));
    expect(first.facts.usage).toEqual({ inputTokens: 70, outputTokens: 20, cacheReadTokens: 30, cacheWriteTokens: 0 });
    expect(resumed.facts.sessionId).toBe(first.facts.sessionId);
  });

  it('fails an error result and classifies it by its text', () => {
    const auth = parse(gemini, fixtureLines('gemini.auth-error.stream-json.jsonl'), { code: 145, signal: null });
    expect(auth.outcome).toMatchObject({ status: 'failed', failureClass: 'auth' });
    expect(auth.outcome.status === 'failed' && auth.outcome.reason).toContain('API key not valid');
    const long = parse(gemini, fixtureLines('gemini.input-too-long.stream-json.jsonl'), { code: 144, signal: null });
    expect(long.outcome).toMatchObject({ status: 'failed', failureClass: 'context_overflow' });
  });

  it('fails a run killed while it retried a rate limit, with the retry time from stderr', () => {
    vi.useFakeTimers({ now: new Date('2026-11-26T11:00:00Z') });
    const stderr = fixtureLines('gemini.rate-limit-killed.stderr.txt');
    const { events, outcome } = parse(gemini, fixtureLines('gemini.rate-limit-killed.stream-json.jsonl'), { code: null, signal: 'SIGKILL' }, stderr);
    expect(ofKind(events, 'error').every((e) => e.stream === 'stderr')).toBe(true);
    expect(outcome).toMatchObject({ status: 'failed', failureClass: 'rate_limited', retryAt: '2026-11-26T11:00:35.200Z' });
  });

  it('fails a stream without a result event', () => {
    const { outcome } = parse(gemini, fixtureLines('gemini.no-answer-killed.stream-json.jsonl'), { code: null, signal: 'SIGKILL' });
    expect(outcome).toEqual({ status: 'failed', reason: 'ended without a final result event (killed by SIGKILL)' });
  });
});

describe('gemini parser on hand-written streams', () => {
  it('names the exit code and takes 41 as an auth failure', () => {
    const { outcome } = parse(gemini, [], { code: 41, signal: null });
    expect(outcome).toEqual({ status: 'failed', reason: 'ended without a final result event (exit code 41: authentication failed)', failureClass: 'auth' });
  });

  it('treats warnings as status, errors as errors, and a failed tool as an error result', () => {
    const stream = [
      init,
      line({ type: 'error', severity: 'warning', message: 'Loop detected, stopping' }),
      line({ type: 'tool_use', tool_name: 'read_file', tool_id: 'r1', parameters: { file_path: 'x' } }),
      line({ type: 'tool_result', tool_id: 'r1', status: 'error', error: { type: 'not_found', message: 'File not found' } }),
      line({ type: 'error', severity: 'error', message: 'Quota exceeded. Please retry in 10s.' }),
      line({ type: 'result', status: 'error', error: { type: 'FatalError', message: 'Quota exceeded' }, stats: { input_tokens: 5, output_tokens: 1, cached: 0, input: 5 } }),
    ];
    const { events, facts, outcome } = parse(gemini, stream, { code: 1, signal: null });
    expect(kinds(events)).toEqual(['status', 'status', 'tool_call', 'tool_result', 'error', 'usage', 'result']);
    expect(ofKind(events, 'tool_result')[0]?.data).toMatchObject({ isError: true, output: 'File not found' });
    expect(facts.usage).toEqual({ inputTokens: 5, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 });
    expect(outcome).toMatchObject({ status: 'failed', reason: 'error: Quota exceeded', failureClass: 'rate_limited' });
  });

  it('turns garbage into raw events without throwing', () => {
    const { events, outcome } = parse(gemini, ['Data collection is disabled.', init, '{{{', line({ type: 'result', status: 'success' })], EXIT_0);
    expect(kinds(events)).toEqual(['raw', 'status', 'raw', 'result']);
    expect(outcome).toEqual({ status: 'completed' });
  });
});

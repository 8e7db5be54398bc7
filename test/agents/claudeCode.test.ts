import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { claudeCode } from '../../src/agents/claudeCode.js';
import { EXIT_0, fixtureLines, hostilePrompt, kinds, markerDir, ofKind, parse, received, spec } from './helpers.js';

const line = (o: unknown) => JSON.stringify(o);
const init = line({ type: 'system', subtype: 'init', session_id: 's-1', model: 'claude-opus-5-5', claude_code_version: '2.1.332' });

describe('claude-code invocation', () => {
  it('runs headless, stream-json both ways, unattended, with the prompt as one user message on stdin', () => {
    const inv = claudeCode.buildInvocation(spec());
    expect(inv.args).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--input-format',
      'stream-json',
      '--disallowedTools',
      'AskUserQuestion',
      '--permission-mode',
      'bypassPermissions',
    ]);
    expect(inv.env).toEqual({});
    expect(inv.stdin).toBe('{"type":"user","message":{"role":"user","content":[{"type":"text","text":"Say hi"}]}}\n');
  });

  it('adds the model, the session to resume, the MCP config and extra options', () => {
    const inv = claudeCode.buildInvocation(
      spec({ model: 'opus', resumeSessionId: '8c953740-6469-4dda-a210-9936a0ee3d10', mcpConfigPath: '/run/sy/mcp.json', extraArgs: ['--max-turns', '30'] }),
    );
    expect(inv.args.slice(10)).toEqual(['--model=opus', '--resume=8c953740-6469-4dda-a210-9936a0ee3d10', '--mcp-config=/run/sy/mcp.json', '--max-turns', '30']);
  });

  it('tells the CLI it is sandboxed when the daemon runs as root', () => {
    expect(claudeCode.buildInvocation(spec({ runningAsRoot: true })).env).toEqual({ IS_SANDBOX: '1' });
  });

  it('passes a hostile prompt on stdin byte for byte, never through argv or a shell', () => {
    const dir = markerDir();
    const prompt = hostilePrompt(dir);
    const inv = claudeCode.buildInvocation(spec({ prompt, model: 'sonnet' }));
    const got = received(inv);
    expect(got.argv).toEqual(inv.args);
    expect(got.argv.some((a) => a.includes('pwned'))).toBe(false);
    const [message, rest, ...more] = got.stdin.split('\n');
    expect([rest, more]).toEqual(['', []]);
    expect(JSON.parse(message ?? '').message.content[0].text).toBe(prompt);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('reads the version from `claude --version`', () => {
    expect(claudeCode.parseVersion('2.1.332 (Claude Code)\n')).toBe('2.1.332');
    expect(claudeCode.parseVersion('nothing here')).toBeUndefined();
  });
});

describe('claude-code parser on recorded runs', () => {
  it('reads a text answer: session, model, version, usage, cost and the final answer', () => {
    const { events, facts, outcome } = parse(claudeCode, fixtureLines('claude-code.stream-json.jsonl'));
    expect(kinds(events)).toEqual(['status', 'text', 'usage', 'usage', 'result']);
    expect(ofKind(events, 'text')[0]?.text).toBe('Hello from the local mock.');
    expect(facts).toEqual({
      sawFinal: true,
      sessionId: '0ec6289c-8c86-4372-b7ac-7ba3dd8b7e2c',
      model: 'claude-sonnet-5-5',
      agentVersion: '2.1.332',
      usage: { inputTokens: 10, outputTokens: 6, cacheReadTokens: 0, cacheWriteTokens: 0 },
      costUsd: 0.00008,
      resultText: 'Hello from the local mock.',
    });
    expect(outcome).toEqual({ status: 'completed', resultText: 'Hello from the local mock.' });
  });

  it('reads a tool call and its result', () => {
    const { events, facts, outcome } = parse(claudeCode, fixtureLines('claude-code.tool-use.stream-json.jsonl'));
    const [call] = ofKind(events, 'tool_call');
    expect(call?.text).toBe('Bash: echo sample42 > bar-proof.txt');
    expect(call?.data).toEqual({ name: 'Bash', id: 'toolu_sample42', input: { command: 'echo sample42 > bar-proof.txt', description: 'Write the proof file' } });
    expect(ofKind(events, 'tool_result')[0]?.data).toEqual({ id: 'toolu_sample42', isError: false, output: '(Bash completed with no output)' });
    expect(facts.usage).toEqual({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 0, cacheWriteTokens: 0 });
    expect(facts.costUsd).toBe(0.0016);
    expect(outcome).toEqual({ status: 'completed', resultText: 'Done: wrote the proof sample42.' });
  });

  it('counts cache reads and writes apart from the input', () => {
    const { facts } = parse(claudeCode, fixtureLines('claude-code.hostile-prompt.stream-json.jsonl'));
    expect(facts.usage).toEqual({ inputTokens: 10, outputTokens: 6, cacheReadTokens: 5, cacheWriteTokens: 3 });
  });

  it('keeps the session id on resume and counts only this run’s cost', () => {
    const first = parse(claudeCode, fixtureLines('claude-code.hostile-prompt.stream-json.jsonl'));
    const resumed = parse(claudeCode, fixtureLines('claude-code.resumed.stream-json.jsonl'));
    expect(resumed.facts.sessionId).toBe(first.facts.sessionId);
    // total_cost_usd says 0.000176 (both runs); this run cost what the first did.
    expect(resumed.facts.costUsd).toBeCloseTo(0.000088, 9);
  });

  it.each([0, 1])('fails an API error reported as subtype success with is_error, whatever the exit code (%i)', (code) => {
    const { events, outcome } = parse(claudeCode, fixtureLines('claude-code.auth-error.stream-json.jsonl'), { code, signal: null });
    expect(ofKind(events, 'error')[0]?.text).toBe('Invalid API key · Fix external API key');
    expect(outcome).toEqual({ status: 'failed', reason: 'API error 401: Invalid API key · Fix external API key', failureClass: 'auth' });
  });

  it.each([
    ['claude-code.rate-limit.stream-json.jsonl', 'rate_limited'],
    ['claude-code.prompt-too-long.stream-json.jsonl', 'context_overflow'],
    ['claude-code.overloaded.stream-json.jsonl', 'agent_error'],
  ])('classifies %s as %s', (file, failureClass) => {
    const { outcome } = parse(claudeCode, fixtureLines(file), { code: 1, signal: null });
    expect(outcome).toMatchObject({ status: 'failed', failureClass });
  });

  it('fails a run that retried until it was killed, with the retried error', () => {
    const { events, facts, outcome } = parse(claudeCode, fixtureLines('claude-code.api-retry-killed.stream-json.jsonl'), { code: null, signal: 'SIGTERM' });
    expect(ofKind(events, 'status')[1]?.text).toBe('API retry 1/10: 401 authentication_failed');
    expect(facts.sawFinal).toBe(false);
    expect(outcome).toEqual({
      status: 'failed',
      reason: 'ended without a final result event (killed by SIGTERM): API retry 9/10: 401 authentication_failed',
      failureClass: 'auth',
    });
  });

  it('fails a stream that ends without a result event, even with exit 0', () => {
    const { facts, outcome } = parse(claudeCode, fixtureLines('claude-code.no-answer-killed.stream-json.jsonl'), EXIT_0);
    expect(facts.sessionId).toBe('65fa8a30-79e7-4d2e-bb31-7a3c6c2b62cb');
    expect(outcome).toEqual({ status: 'failed', reason: 'ended without a final result event (exit code 0)' });
  });
});

describe('claude-code parser on hand-written streams', () => {
  afterEach(() => vi.useRealTimers());

  it('reads the reset time of a usage limit', () => {
    vi.useFakeTimers({ now: new Date('2026-11-26T10:00:00Z') });
    const { outcome } = parse(claudeCode, fixtureLines('claude-code.session-limit.handwritten.jsonl'), { code: 1, signal: null });
    // 3:30pm in Berlin (UTC+1 in November)
    expect(outcome).toMatchObject({ status: 'failed', failureClass: 'rate_limited', retryAt: '2026-11-26T14:30:00.000Z' });
  });

  it('takes the reset time from a rejected rate_limit_event when the text has none', () => {
    const stream = [
      init,
      line({ type: 'rate_limit_event', rate_limit_info: { status: 'rejected', resetsAt: 1795714200, rateLimitType: 'five_hour' } }),
      line({ type: 'result', subtype: 'success', is_error: true, result: 'Rate limited', api_error_status: 429 }),
    ];
    expect(parse(claudeCode, stream).outcome).toMatchObject({ failureClass: 'rate_limited', retryAt: '2026-11-26T17:30:00.000Z' });
  });

  it('reads thinking, a failed tool call and a subagent’s text', () => {
    const stream = [
      init,
      line({ type: 'assistant', message: { id: 'm1', content: [{ type: 'thinking', thinking: 'Plan first.' }], usage: { input_tokens: 5, output_tokens: 2 } } }),
      line({ type: 'assistant', message: { id: 'm1', content: [{ type: 'tool_use', id: 't1', name: 'Read', input: { file_path: '/x' } }], usage: { input_tokens: 5, output_tokens: 2 } } }),
      line({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't1', is_error: true, content: [{ type: 'text', text: 'File does not exist.' }] }] } }),
      line({ type: 'assistant', parent_tool_use_id: 't0', message: { id: 'm2', content: [{ type: 'text', text: 'sub' }] } }),
    ];
    const { events, facts } = parse(claudeCode, stream);
    expect(kinds(events)).toEqual(['status', 'thinking', 'usage', 'tool_call', 'tool_result', 'text']);
    expect(ofKind(events, 'tool_call')[0]?.text).toBe('Read: /x');
    expect(ofKind(events, 'tool_result')[0]?.data).toMatchObject({ isError: true, output: 'File does not exist.' });
    expect(ofKind(events, 'text')[0]?.data).toEqual({ parentToolUseId: 't0' });
    // The same message id twice is one model call.
    expect(facts.usage).toMatchObject({ inputTokens: 5, outputTokens: 2 });
  });

  it('fails error_during_execution with its errors list', () => {
    const stream = [init, line({ type: 'result', subtype: 'error_during_execution', is_error: true, errors: ['Tool crashed'] })];
    expect(parse(claudeCode, stream).outcome).toEqual({ status: 'failed', reason: 'error_during_execution: Tool crashed', failureClass: 'agent_error' });
  });

  it('turns garbage into raw events without throwing, and still reads the stream around it', () => {
    const garbage = ['not json', '{"broken":', '[1,2]', '42', 'null', '{"no_type":1}', '\u001b[31mred\u001b[0m', '', '   '];
    const sample = fixtureLines('claude-code.stream-json.jsonl');
    const { events, outcome } = parse(claudeCode, [sample[0] ?? '', ...garbage, ...sample.slice(1)]);
    expect(ofKind(events, 'raw').map((e) => e.raw)).toEqual(['not json', '{"broken":', '[1,2]', '42', 'null', '{"no_type":1}', '\u001b[31mred\u001b[0m']);
    expect(outcome.status).toBe('completed');
  });

  it('calls output that is nothing but garbage invalid', () => {
    expect(parse(claudeCode, ['Error: unknown option --verbose', 'usage: claude …']).outcome).toMatchObject({ failureClass: 'invalid_output' });
  });

  it('puts stderr lines on the stderr stream, as errors when they look like one', () => {
    const parser = claudeCode.createParser();
    expect(parser.onStderr('Warning: no stdin data received in 3s')).toMatchObject([{ stream: 'stderr', kind: 'text' }]);
    expect(parser.onStderr('Error: Invalid API key')).toMatchObject([{ stream: 'stderr', kind: 'error' }]);
  });
});

import { describe, expect, it } from 'vitest';
import { opencode } from '../../src/agents/opencode.js';
import { EXIT_0, fixtureLines, hostilePrompt, kinds, markerDir, ofKind, parse, received, spec } from './helpers.js';

const line = (o: unknown) => JSON.stringify(o);
const ev = (type: string, part: Record<string, unknown> = {}) => line({ type, timestamp: 1, sessionID: 'ses_1', part: { sessionID: 'ses_1', ...part } });

describe('opencode invocation', () => {
  it('runs `run --format json --auto` in the workdir with the prompt on stdin and no message argument', () => {
    const inv = opencode.buildInvocation(spec());
    expect(inv.args).toEqual(['run', '--format', 'json', '--auto', '--dir=/work/tree']);
    expect(inv.stdin).toBe('Say hi');
  });

  it('adds the provider/model, the session to resume and extra options', () => {
    const inv = opencode.buildInvocation(spec({ model: 'anthropic/claude-sonnet-5-5', resumeSessionId: 'ses_de87bce62ffeDAntD9OOlC8eC5', extraArgs: ['--agent', 'build'] }));
    expect(inv.args.slice(5)).toEqual(['--model=anthropic/claude-sonnet-5-5', '--session=ses_de87bce62ffeDAntD9OOlC8eC5', '--agent', 'build']);
  });

  it('passes a hostile prompt on stdin byte for byte', () => {
    const prompt = hostilePrompt(markerDir());
    const inv = opencode.buildInvocation(spec({ prompt }));
    expect(received(inv)).toEqual({ argv: inv.args, stdin: prompt });
  });

  it('passes provider keys through besides its own', () => {
    expect(opencode.envPassthrough).toEqual(expect.arrayContaining(['OPENCODE_', 'ANTHROPIC_', 'OPENAI_', 'GEMINI_']));
    expect(opencode.parseVersion('1.18.33\n')).toBe('1.18.33');
  });
});

describe('opencode parser on recorded runs', () => {
  it('reads a tool-using run: steps, tool call with result, summed usage and cost, the last answer', () => {
    const { events, facts, outcome } = parse(opencode, fixtureLines('opencode.tool-use.json.jsonl'));
    expect(kinds(events)).toEqual(['status', 'text', 'tool_call', 'tool_result', 'usage', 'status', 'text', 'usage', 'result']);
    expect(ofKind(events, 'tool_call')[0]?.text).toBe('bash: echo written by opencode > tool-output.txt && cat tool-output.txt');
    expect(ofKind(events, 'tool_result')[0]?.data).toMatchObject({ name: 'bash', id: 'call_mock_1', status: 'completed', isError: false, output: 'written by opencode\n' });
    expect(facts).toEqual({
      sawFinal: true,
      sessionId: 'ses_de87bce62ffeDAntD9OOlC8eC5',
      usage: { inputTokens: 120, outputTokens: 40, cacheReadTokens: 80, cacheWriteTokens: 0 },
      costUsd: 0,
      resultText: 'Done: wrote tool-output.txt.',
    });
    expect(outcome).toEqual({ status: 'completed', resultText: 'Done: wrote tool-output.txt.' });
  });

  it('keeps the session id on resume', () => {
    const { facts, outcome } = parse(opencode, fixtureLines('opencode.resumed.json.jsonl'));
    expect(facts.sessionId).toBe('ses_de87bce62ffeDAntD9OOlC8eC5');
    expect(outcome.status).toBe('completed');
  });

  it('fails on an error event and classifies it by its status code', () => {
    const { events, outcome } = parse(opencode, fixtureLines('opencode.auth-error.json.jsonl'), { code: 1, signal: null });
    expect(kinds(events)).toEqual(['error']);
    expect(outcome).toEqual({ status: 'failed', reason: 'APIError: Incorrect API key provided: x.', failureClass: 'auth' });
  });

  it('does not count a run whose last step asked for tool calls as finished', () => {
    const { facts, outcome } = parse(opencode, fixtureLines('opencode.stopped-after-tool-calls.json.jsonl'), { code: null, signal: 'SIGKILL' });
    expect(facts.sawFinal).toBe(false);
    expect(outcome).toEqual({ status: 'failed', reason: 'ended without a final result event (killed by SIGKILL: the last step asked for tool calls)' });
  });
});

describe('opencode parser on hand-written streams', () => {
  it('sums cost and counts reasoning as output', () => {
    const stream = [
      ev('step_start'),
      ev('reasoning', { text: 'think' }),
      ev('step_finish', { reason: 'tool-calls', cost: 0.01, tokens: { input: 10, output: 5, reasoning: 3, cache: { read: 100, write: 7 } } }),
      ev('step_start'),
      ev('step_finish', { reason: 'stop', cost: 0.02, tokens: { input: 1, output: 1, reasoning: 0, cache: { read: 0, write: 0 } } }),
    ];
    const { events, facts } = parse(opencode, stream);
    expect(ofKind(events, 'thinking')[0]?.text).toBe('think');
    expect(facts.usage).toEqual({ inputTokens: 11, outputTokens: 9, cacheReadTokens: 100, cacheWriteTokens: 7 });
    expect(facts.costUsd).toBeCloseTo(0.03, 10);
  });

  it('reopens the run when a step starts after a finished one', () => {
    const parser = opencode.createParser();
    parser.onStdout(ev('step_finish', { reason: 'stop' }));
    expect(parser.facts().sawFinal).toBe(true);
    parser.onStdout(ev('step_start'));
    expect(parser.facts().sawFinal).toBe(false);
  });

  it('fails a step cut off by the output length limit, and a context overflow error', () => {
    expect(parse(opencode, [ev('step_finish', { reason: 'length' })]).outcome).toMatchObject({ status: 'failed', failureClass: 'agent_error' });
    const overflow = line({ type: 'error', sessionID: 's', error: { name: 'APIError', data: { message: 'prompt is too long: 210000 tokens > 200000 maximum', statusCode: 400 } } });
    expect(parse(opencode, [overflow]).outcome).toMatchObject({ failureClass: 'context_overflow' });
  });

  it('reads a failed tool and turns garbage into raw events', () => {
    const failedTool = ev('tool_use', { tool: 'read', callID: 'c1', state: { status: 'error', input: { filePath: '/x' }, error: 'not found' } });
    const { events, outcome } = parse(opencode, ['INFO booting', failedTool, '{"sessionID":'], EXIT_0);
    expect(kinds(events)).toEqual(['raw', 'tool_call', 'tool_result', 'raw']);
    expect(ofKind(events, 'tool_result')[0]?.data).toMatchObject({ isError: true, output: 'not found' });
    expect(outcome.status).toBe('failed');
  });
});

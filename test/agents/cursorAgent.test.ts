import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cursorAgent } from '../../src/agents/cursorAgent.js';
import { EXIT_0, fixtureLines, hostilePrompt, kinds, markerDir, ofKind, parse, received, spec } from './helpers.js';

// cursor-agent is not on npm, so these streams are hand-written after Cursor's stream-json reference.

describe('cursor-agent invocation', () => {
  it('runs headless with stream-json, trusting the workspace and forcing tool use, the prompt last after `--`', () => {
    const inv = cursorAgent.buildInvocation(spec());
    expect(inv.args).toEqual(['-p', '--output-format', 'stream-json', '--trust', '--force', '--workspace=/work/tree', '--', 'Say hi']);
    expect(inv.stdin).toBeUndefined();
  });

  it('adds the model and the session to resume before `--`', () => {
    const inv = cursorAgent.buildInvocation(spec({ model: 'gpt-5', resumeSessionId: 'c6b3a2e1-5f0d-4f6e-9a7b-2d1c0e9f8a71' }));
    expect(inv.args.slice(6)).toEqual(['--model=gpt-5', '--resume=c6b3a2e1-5f0d-4f6e-9a7b-2d1c0e9f8a71', '--', 'Say hi']);
  });

  it('keeps a hostile prompt as the one argument after `--`, byte for byte', () => {
    const dir = markerDir();
    const prompt = hostilePrompt(dir);
    const got = received(cursorAgent.buildInvocation(spec({ prompt })));
    expect(got.argv.slice(-2)).toEqual(['--', prompt]);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('reads its date-shaped version', () => {
    expect(cursorAgent.parseVersion('2025.10.28-0a91dc2\n')).toBe('2025.10.28-0a91dc2');
  });
});

describe('cursor-agent parser', () => {
  afterEach(() => vi.useRealTimers());

  it('reads thinking, tool calls with their results, usage and the final result', () => {
    const { events, facts, outcome } = parse(cursorAgent, fixtureLines('cursor-agent.tool-use.handwritten.jsonl'));
    expect(kinds(events)).toEqual(['status', 'status', 'thinking', 'status', 'text', 'tool_call', 'tool_result', 'tool_call', 'tool_result', 'text', 'usage', 'result']);
    expect(ofKind(events, 'tool_call').map((e) => e.text)).toEqual(['shell: echo written by cursor > tool-output.txt', 'read: /home/dev/project/missing.txt']);
    expect(ofKind(events, 'tool_result').map((e) => e.data)).toEqual([
      { name: 'shell', id: 'toolu_cursor_1', output: '', isError: false, exitCode: 0 },
      { name: 'read', id: 'toolu_cursor_2', output: 'File not found', isError: true },
    ]);
    expect(facts).toMatchObject({
      sessionId: 'c6b3a2e1-5f0d-4f6e-9a7b-2d1c0e9f8a71',
      model: 'Claude 4.5 Sonnet',
      usage: { inputTokens: 1200, outputTokens: 80, cacheReadTokens: 3000, cacheWriteTokens: 200 },
      sawFinal: true,
    });
    expect(outcome).toEqual({ status: 'completed', resultText: 'I will write the file with the shell.Done: wrote tool-output.txt.' });
  });

  it('fails an error result and reads a usage limit’s reset', () => {
    vi.useFakeTimers({ now: new Date('2026-11-26T10:00:00Z') });
    const { outcome } = parse(cursorAgent, fixtureLines('cursor-agent.error.handwritten.jsonl'), { code: 1, signal: null });
    expect(outcome).toEqual({
      status: 'failed',
      reason: "error: You've hit your usage limit. Your limit resets in 2h 30m.",
      failureClass: 'rate_limited',
      retryAt: '2026-11-26T12:30:00.000Z',
    });
  });

  it('fails a stream that ends without a result', () => {
    const { facts, outcome } = parse(cursorAgent, fixtureLines('cursor-agent.no-result.handwritten.jsonl'), EXIT_0);
    expect(facts.sawFinal).toBe(false);
    expect(outcome).toEqual({ status: 'failed', reason: 'ended without a final result event (exit code 0)' });
  });

  it('turns garbage into raw events without throwing', () => {
    const { events } = parse(cursorAgent, ['Cursor Agent v2025', '{"type":"tool_call","subtype":"started","tool_call":null}', '{']);
    expect(kinds(events)).toEqual(['raw', 'tool_call', 'raw']);
  });
});

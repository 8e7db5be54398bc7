/**
 * Failure classes, decided from recorded real output: each fixture is parsed
 * by its agent's adapter, and the adapter's outcome plus the exit status go
 * through classifyFailure — the same path the daemon takes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getAdapter } from '../../src/agents/registry.js';
import { classifyFailure } from '../../src/core/failures.js';
import { FAILURE_CLASSES } from '../../src/core/retryPolicy.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/agents/${name}`, import.meta.url), 'utf8');

function replay(agent: string, file: string, exit: { code: number | null; signal: string | null }, stderrFile?: string) {
  const parser = getAdapter(agent).createParser();
  for (const line of fixture(file).split('\n')) if (line) parser.onStdout(line);
  const stderr = stderrFile ? fixture(stderrFile) : '';
  for (const line of stderr.split('\n')) if (line) parser.onStderr(line);
  const o = parser.outcome(exit);
  if (o.status === 'completed') return { completed: true as const };
  return { completed: false as const, ...classifyFailure({ adapterClass: o.failureClass, adapterRetryAt: o.retryAt, reason: o.reason, stderrTail: stderr, exitCode: exit.code, signal: exit.signal, now: Date.parse('2026-11-26T12:00:00Z') }) };
}

describe('failure classes from recorded CLI output', () => {
  const cases: [string, string, { code: number | null; signal: string | null }, string, string?][] = [
    ['claude-code', 'claude-code.auth-error.stream-json.jsonl', { code: 1, signal: null }, 'auth'],
    ['claude-code', 'claude-code.rate-limit.stream-json.jsonl', { code: 1, signal: null }, 'rate_limited'],
    ['claude-code', 'claude-code.prompt-too-long.stream-json.jsonl', { code: 1, signal: null }, 'context_overflow'],
    ['claude-code', 'claude-code.overloaded.stream-json.jsonl', { code: 1, signal: null }, 'agent_error'],
    ['claude-code', 'claude-code.no-answer-killed.stream-json.jsonl', { code: null, signal: 'SIGKILL' }, 'agent_error'],
    ['codex', 'codex.auth-error.exec-json.jsonl', { code: 1, signal: null }, 'auth'],
    ['codex', 'codex.usage-limit.exec-json.jsonl', { code: 1, signal: null }, 'rate_limited'],
    ['codex', 'codex.context-window.exec-json.jsonl', { code: 1, signal: null }, 'context_overflow'],
    ['gemini', 'gemini.auth-error.stream-json.jsonl', { code: 145, signal: null }, 'auth'],
    ['gemini', 'gemini.input-too-long.stream-json.jsonl', { code: 144, signal: null }, 'context_overflow'],
    ['gemini', 'gemini.rate-limit-killed.stream-json.jsonl', { code: null, signal: 'SIGKILL' }, 'rate_limited', 'gemini.rate-limit-killed.stderr.txt'],
    ['opencode', 'opencode.auth-error.json.jsonl', { code: 1, signal: null }, 'auth'],
  ];
  for (const [agent, file, exit, expected, stderr] of cases) {
    it(`${file} → ${expected}`, () => {
      const r = replay(agent, file, exit, stderr);
      expect(r.completed).toBe(false);
      if (!r.completed) expect(r.failureClass).toBe(expected);
    });
  }

  it('reads the reset time of a usage limit', () => {
    const r = replay('codex', 'codex.usage-limit.exec-json.jsonl', { code: 1, signal: null });
    expect(r.completed === false && r.retryAt).toMatch(/^2026-11-2\dT/);
  });

  it('a successful recording is not a failure', () => {
    expect(replay('claude-code', 'claude-code.stream-json.jsonl', { code: 0, signal: null }).completed).toBe(true);
  });
});

describe('classes the daemon decides', () => {
  it('keeps a watchdog, budget, cancel or lost runtime as decided', () => {
    for (const decided of ['timeout_idle', 'timeout_wall', 'token_budget_exceeded', 'runtime_lost', 'cancelled', 'missing_executable']) {
      expect(classifyFailure({ decided, adapterClass: 'agent_error', stderrTail: 'rate limit reached' }).failureClass).toBe(decided);
    }
  });

  it('finds the class in stderr when the final event said nothing specific', () => {
    expect(classifyFailure({ adapterClass: 'agent_error', stderrTail: 'boot\nError: 401 Unauthorized: invalid api key\n' }).failureClass).toBe('auth');
    expect(classifyFailure({ stderrTail: 'HTTP 429 Too Many Requests, retry in 30s', now: 0 })).toEqual({ failureClass: 'rate_limited', retryAt: new Date(30_000).toISOString() });
  });

  it('maps a shell\'s "command not found" exit codes to missing_executable', () => {
    expect(classifyFailure({ exitCode: 127 }).failureClass).toBe('missing_executable');
    expect(classifyFailure({ exitCode: 126 }).failureClass).toBe('missing_executable');
  });

  it('falls back to agent_error, and every class it answers is a known one', () => {
    expect(classifyFailure({ exitCode: 1, stderrTail: 'segfault' }).failureClass).toBe('agent_error');
    expect(FAILURE_CLASSES).toContain(classifyFailure({ adapterClass: 'invalid_output' }).failureClass);
  });
});

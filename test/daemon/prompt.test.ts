import { describe, expect, it } from 'vitest';
import type { AssignFrame } from '../../src/core/protocol.js';
import { composePrompt } from '../../src/daemon/prompt.js';

const base: AssignFrame = {
  type: 'assign',
  taskId: '11111111-2222-4333-8444-555555555555',
  attempt: 1,
  workspaceId: 'w',
  agent: 'claude-code',
  model: null,
  prompt: 'Fix the flaky login test',
  seqStart: 1,
  resumeSessionId: null,
  previousDaemonId: null,
  answer: null,
  previousFailure: null,
  repo: null,
  baseRef: null,
  tokenBudget: null,
  taskToken: 't',
  serverUrl: 'http://x',
  suggestions: [],
  metadata: {},
};
const me = 'daemon-a';

describe('what an agent is told', () => {
  it('a first run gets the prompt, plus the preamble when given', () => {
    expect(composePrompt(base, { supportsResume: true, selfId: me })).toEqual({ prompt: 'Fix the flaky login test' });
    expect(composePrompt(base, { supportsResume: true, selfId: me, preamble: 'ASK' }).prompt).toBe('Fix the flaky login test\n\n---\nASK');
  });

  it('an answer resumes the session with only the answer', () => {
    const p = composePrompt({ ...base, attempt: 2, answer: 'PostgreSQL', resumeSessionId: 's1', previousDaemonId: me }, { supportsResume: true, selfId: me, preamble: 'ASK' });
    expect(p).toEqual({ prompt: 'The user answered your question:\n\nPostgreSQL\n\nContinue the task.', resumeSessionId: 's1' });
  });

  it('an answer on another runtime (or for a CLI without sessions) starts fresh with the prompt and the answer, and says so', () => {
    const elsewhere = composePrompt({ ...base, attempt: 2, answer: 'PostgreSQL', resumeSessionId: 's1', previousDaemonId: 'daemon-b' }, { supportsResume: true, selfId: me });
    expect(elsewhere.resumeSessionId).toBeUndefined();
    expect(elsewhere.prompt).toBe("Fix the flaky login test\n\nEarlier you asked a question about this task. The user's answer:\n\nPostgreSQL");
    expect(elsewhere.note).toMatch(/not available on this runtime/);
    const noSessions = composePrompt({ ...base, attempt: 2, answer: 'PostgreSQL', resumeSessionId: null }, { supportsResume: false, selfId: me });
    expect(noSessions.note).toBeUndefined();
  });

  it('a retry resumes with a short failure summary, never the transcript', () => {
    const p = composePrompt({ ...base, attempt: 2, resumeSessionId: 's1', previousDaemonId: me }, { supportsResume: true, selfId: me, retrySummary: 'timeout_idle: no output for 600 s' });
    expect(p).toEqual({ prompt: 'The previous attempt failed: timeout_idle: no output for 600 s\n\nTry again and finish the task.', resumeSessionId: 's1' });
    const fresh = composePrompt({ ...base, attempt: 2 }, { supportsResume: false, selfId: me, retrySummary: 'agent_error: exit code 1' });
    expect(fresh.prompt).toBe('Fix the flaky login test\n\n(A previous attempt failed: agent_error: exit code 1)');
  });
});

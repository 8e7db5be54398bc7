import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, FAILURE_CLASSES, nextRetryAt, retryPolicyFrom } from '../../src/core/retryPolicy.js';

const at = (failureClass: string, attempt: number, maxAttempts = 10, policy = DEFAULT_RETRY_POLICY) =>
  nextRetryAt({ failureClass, attempt, maxAttempts, now: 1_000_000, random: 1, backoff: { baseMs: 100, capMs: 1000 }, policy });

describe('retry policy per failure class', () => {
  it('has a policy for every class', () => {
    expect(Object.keys(DEFAULT_RETRY_POLICY).sort()).toEqual([...FAILURE_CLASSES].sort());
  });

  it('never retries what a retry cannot fix', () => {
    for (const c of ['auth', 'context_overflow', 'token_budget_exceeded', 'timeout_wall', 'missing_executable', 'cancelled']) expect(at(c, 1)).toBeNull();
  });

  it('caps attempts per class below the task\'s own maximum', () => {
    expect(at('timeout_idle', 1)).not.toBeNull();
    expect(at('timeout_idle', 2)).toBeNull(); // 2 attempts for a run that went silent
    expect(at('rate_limited', 4)).not.toBeNull();
    expect(at('rate_limited', 5)).toBeNull();
    expect(at('agent_error', 9)).not.toBeNull();
    expect(at('agent_error', 10)).toBeNull(); // the task's maxAttempts
    expect(at('rate_limited', 2, 2)).toBeNull(); // …which always caps
  });

  it('takes overrides from the configuration', () => {
    const policy = retryPolicyFrom({ auth: { retryable: true, max_attempts: 2 }, agent_error: { max_attempts: 1 } });
    expect(at('auth', 1, 10, policy)).not.toBeNull();
    expect(at('auth', 2, 10, policy)).toBeNull();
    expect(at('agent_error', 1, 10, policy)).toBeNull();
    expect(policy.rate_limited).toEqual(DEFAULT_RETRY_POLICY.rate_limited);
  });
});

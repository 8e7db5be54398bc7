/**
 * Whether and when a failed run is tried again: exponential backoff with full
 * jitter, a cap, classes retrying cannot fix, the attempt limit, and a rate
 * limit's reset time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, FAILURE_CLASSES, backoffDelay, isRetryable, nextRetryAt } from '../../src/core/retryPolicy.js';

const NOW = Date.UTC(2030, 0, 10, 12, 0, 0);
const S = { baseMs: 1_000, capMs: 60_000 };

/** Classes a new attempt cannot fix: a bad key, a prompt that does not fit, the task's own budget, the wall-clock limit, no binary, a cancel. */
const PERMANENT = ['auth', 'context_overflow', 'token_budget_exceeded', 'timeout_wall', 'missing_executable', 'cancelled'];
const TRANSIENT = ['rate_limited', 'timeout_idle', 'runtime_lost', 'agent_error', 'invalid_output'];

describe('backoffDelay (full jitter)', () => {
  it('draws uniformly between 0 and base · 2^(attempt-1)', () => {
    expect(backoffDelay(1, 0, S)).toBe(0);
    expect(backoffDelay(1, 1, S)).toBe(1_000);
    expect(backoffDelay(2, 1, S)).toBe(2_000);
    expect(backoffDelay(3, 0.5, S)).toBe(2_000);
    expect(backoffDelay(4, 0.999, S)).toBe(7_992);
  });

  it('stays within [0, min(cap, base · 2^(attempt-1))] for any attempt and draw (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, random) => {
        const d = backoffDelay(attempt, random, S);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(S.capMs, S.baseMs * 2 ** (attempt - 1)));
      }),
      { numRuns: 500 },
    );
  });

  it('never waits longer than the cap, even after very many attempts', () => {
    expect(backoffDelay(7, 1, S)).toBe(60_000); // 64 s uncapped
    expect(backoffDelay(2_000, 1, S)).toBe(60_000); // 2^1999 overflows to Infinity
    expect(backoffDelay(30, 1)).toBe(DEFAULT_BACKOFF.capMs);
  });

  it('spreads the retries of tasks that failed together instead of synchronising them', () => {
    const delays = Array.from({ length: 100 }, (_, i) => backoffDelay(6, i / 100, S));
    expect(new Set(delays).size).toBe(100);
    expect(Math.min(...delays)).toBe(0);
    expect(Math.max(...delays)).toBeGreaterThan(0.9 * 32_000);
  });

  it('treats a draw outside [0, 1] and an attempt below 1 as their nearest valid value', () => {
    expect(backoffDelay(3, -0.5, S)).toBe(0);
    expect(backoffDelay(3, 7, S)).toBe(4_000);
    expect(backoffDelay(0, 1, S)).toBe(1_000);
    expect(backoffDelay(-4, 1, S)).toBe(1_000);
  });
});

describe('nextRetryAt', () => {
  const input = { attempt: 1, maxAttempts: 3, now: NOW, random: 1, backoff: S };

  it('knows every failure class, and retries exactly the transient ones', () => {
    expect([...FAILURE_CLASSES].sort()).toEqual([...PERMANENT, ...TRANSIENT].sort());
    for (const cls of PERMANENT) {
      expect(isRetryable(cls), cls).toBe(false);
      expect(nextRetryAt({ ...input, failureClass: cls }), cls).toBeNull();
    }
    for (const cls of TRANSIENT) {
      expect(isRetryable(cls), cls).toBe(true);
      expect(nextRetryAt({ ...input, failureClass: cls }), cls).toBe(NOW + 1_000);
    }
  });

  it('retries a failure without a class, or with a class it does not know, as transient', () => {
    expect(nextRetryAt({ ...input, failureClass: null })).toBe(NOW + 1_000);
    expect(nextRetryAt({ ...input, failureClass: undefined })).toBe(NOW + 1_000);
    expect(nextRetryAt({ ...input, failureClass: 'brand_new_class' })).toBe(NOW + 1_000);
  });

  it('schedules the attempt after the jittered backoff of the attempt that failed', () => {
    expect(nextRetryAt({ ...input, failureClass: 'agent_error', attempt: 2, maxAttempts: 5, random: 0.25 })).toBe(NOW + 500);
  });

  it('stops at max attempts: the last attempt’s failure is final', () => {
    expect(nextRetryAt({ ...input, failureClass: 'agent_error', attempt: 2, maxAttempts: 3 })).not.toBeNull();
    expect(nextRetryAt({ ...input, failureClass: 'agent_error', attempt: 3, maxAttempts: 3 })).toBeNull();
    expect(nextRetryAt({ ...input, failureClass: 'agent_error', attempt: 4, maxAttempts: 3 })).toBeNull();
    expect(nextRetryAt({ ...input, failureClass: 'agent_error', attempt: 1, maxAttempts: 1 })).toBeNull();
  });

  it('waits for a rate limit’s reported reset time rather than the backoff, even beyond the cap', () => {
    const resetAt = NOW + 2 * 3_600_000;
    expect(nextRetryAt({ ...input, failureClass: 'rate_limited', retryAt: resetAt })).toBe(resetAt);
  });

  it('falls back to the backoff when the reset time has passed or is missing', () => {
    expect(nextRetryAt({ ...input, failureClass: 'rate_limited', retryAt: NOW - 1 })).toBe(NOW + 1_000);
    expect(nextRetryAt({ ...input, failureClass: 'rate_limited', retryAt: NOW })).toBe(NOW + 1_000);
    expect(nextRetryAt({ ...input, failureClass: 'rate_limited', retryAt: null })).toBe(NOW + 1_000);
  });

  it('uses a reset time only for rate limits, and never past max attempts', () => {
    expect(nextRetryAt({ ...input, failureClass: 'agent_error', retryAt: NOW + 3_600_000 })).toBe(NOW + 1_000);
    expect(nextRetryAt({ ...input, failureClass: 'rate_limited', retryAt: NOW + 3_600_000, attempt: 3 })).toBeNull();
  });
});

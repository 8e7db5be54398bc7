/**
 * Whether and when a failed run is tried again. Pure: the caller passes the
 * failure class, the attempt counts and a random number.
 */

export const FAILURE_CLASSES = [
  'auth',
  'rate_limited',
  'context_overflow',
  'token_budget_exceeded',
  'timeout_idle',
  'timeout_wall',
  'missing_executable',
  'runtime_lost',
  'agent_error',
  'invalid_output',
  'cancelled',
] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

export interface ClassPolicy {
  retryable: boolean;
  /** At most this many attempts for failures of this class (the task's maxAttempts still caps it). */
  maxAttempts?: number;
}

export type RetryPolicy = Record<FailureClass, ClassPolicy>;

/**
 * Retrying cannot fix a bad key, a prompt that does not fit, a budget the
 * task set itself, a missing binary or a user's cancel; it can fix the rest.
 * A rate limit clears by itself, so it gets more attempts; a run that went
 * silent twice will likely do it again.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  auth: { retryable: false },
  rate_limited: { retryable: true, maxAttempts: 5 },
  context_overflow: { retryable: false },
  token_budget_exceeded: { retryable: false },
  timeout_idle: { retryable: true, maxAttempts: 2 },
  timeout_wall: { retryable: false },
  missing_executable: { retryable: false },
  runtime_lost: { retryable: true },
  agent_error: { retryable: true },
  invalid_output: { retryable: true, maxAttempts: 2 },
  cancelled: { retryable: false },
};

export function isFailureClass(v: string): v is FailureClass {
  return (FAILURE_CLASSES as readonly string[]).includes(v);
}

export function classPolicy(cls: string | null | undefined, policy: RetryPolicy = DEFAULT_RETRY_POLICY): ClassPolicy {
  return cls && isFailureClass(cls) ? policy[cls] : policy.agent_error;
}

export function isRetryable(cls: string | null | undefined, policy: RetryPolicy = DEFAULT_RETRY_POLICY): boolean {
  return classPolicy(cls, policy).retryable;
}

export interface BackoffSettings {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { baseMs: 5_000, capMs: 300_000 };

/**
 * Exponential backoff with full jitter: a uniform delay in
 * [0, min(cap, base · 2^(attempt-1))]. Full jitter spreads retries of many
 * tasks that failed together (a provider outage) instead of synchronising them.
 */
export function backoffDelay(attempt: number, random: number, s: BackoffSettings = DEFAULT_BACKOFF): number {
  const exp = Math.min(s.capMs, s.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(Math.max(0, Math.min(1, random)) * exp);
}

export interface RetryInput {
  failureClass: string | null | undefined;
  attempt: number;
  maxAttempts: number;
  now: number;
  random: number;
  /** A reset time the CLI reported for a rate limit (epoch ms). */
  retryAt?: number | null;
  backoff?: BackoffSettings;
  policy?: RetryPolicy;
}

/** Answers the time of the next attempt, or null when the task has failed for good. */
export function nextRetryAt(input: RetryInput): number | null {
  const p = classPolicy(input.failureClass, input.policy);
  if (!p.retryable) return null;
  if (input.attempt >= Math.min(input.maxAttempts, p.maxAttempts ?? Infinity)) return null;
  if (input.failureClass === 'rate_limited' && input.retryAt && input.retryAt > input.now) return input.retryAt;
  return input.now + backoffDelay(input.attempt, input.random, input.backoff);
}

/** The defaults with the configuration's `orchestrator.retry` overrides applied. */
export function retryPolicyFrom(overrides: Partial<Record<FailureClass, { retryable?: boolean; max_attempts?: number }>>): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const [cls, o] of Object.entries(overrides)) {
    if (!isFailureClass(cls) || !o) continue;
    policy[cls] = {
      retryable: o.retryable ?? policy[cls].retryable,
      ...(o.max_attempts !== undefined ? { maxAttempts: o.max_attempts } : policy[cls].maxAttempts !== undefined ? { maxAttempts: policy[cls].maxAttempts } : {}),
    };
  }
  return policy;
}

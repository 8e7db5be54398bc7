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

/**
 * Retrying cannot fix a bad key, a prompt that does not fit, a budget the
 * task set itself, a missing binary or a user's cancel; it can fix the rest.
 */
const RETRYABLE: Record<FailureClass, boolean> = {
  auth: false,
  rate_limited: true,
  context_overflow: false,
  token_budget_exceeded: false,
  timeout_idle: true,
  timeout_wall: false,
  missing_executable: false,
  runtime_lost: true,
  agent_error: true,
  invalid_output: true,
  cancelled: false,
};

export function isFailureClass(v: string): v is FailureClass {
  return (FAILURE_CLASSES as readonly string[]).includes(v);
}

export function isRetryable(cls: string | null | undefined): boolean {
  if (!cls) return true;
  return isFailureClass(cls) ? RETRYABLE[cls] : true;
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
}

/** Answers the time of the next attempt, or null when the task has failed for good. */
export function nextRetryAt(input: RetryInput): number | null {
  if (!isRetryable(input.failureClass)) return null;
  if (input.attempt >= input.maxAttempts) return null;
  if (input.failureClass === 'rate_limited' && input.retryAt && input.retryAt > input.now) return input.retryAt;
  return input.now + backoffDelay(input.attempt, input.random, input.backoff);
}

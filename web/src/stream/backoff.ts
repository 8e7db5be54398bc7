/**
 * Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with
 * "equal jitter" (half fixed, half random) so that every dashboard of a
 * restarted server does not knock at the same instant, while none waits much
 * less than the schedule says.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000 };

export function backoffDelay(attempt: number, random: () => number = Math.random, o: BackoffOptions = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

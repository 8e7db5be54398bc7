/**
 * The failure class of a run, decided in one place from everything known
 * when it ended: what the daemon itself decided (a watchdog, a cancel, a
 * binary that would not start, the runtime going away), the class the
 * agent's adapter read from its final event, the agent's stderr, and the
 * exit status. Most specific evidence first.
 */
import { classifyText } from './failureText.js';
import { isFailureClass, type FailureClass } from './retryPolicy.js';

export interface FailureEvidence {
  /** Decided by the daemon: timeout_idle, timeout_wall, token_budget_exceeded, runtime_lost, cancelled, missing_executable. */
  decided?: string | null;
  /** From the adapter's final event (auth, rate_limited, context_overflow, invalid_output, agent_error). */
  adapterClass?: string | null;
  adapterRetryAt?: string | null;
  reason?: string | null;
  stderrTail?: string | null;
  exitCode?: number | null;
  signal?: string | null;
  now?: number;
}

export interface Classified {
  failureClass: FailureClass;
  /** When a rate limit names its reset time. */
  retryAt?: string;
}

/** Classes the adapter's generic guess may be refined from (the text may say more). */
const GENERIC = new Set(['agent_error']);

export function classifyFailure(e: FailureEvidence): Classified {
  if (e.decided && isFailureClass(e.decided)) return { failureClass: e.decided };
  if (e.adapterClass && isFailureClass(e.adapterClass) && !GENERIC.has(e.adapterClass)) {
    return e.adapterRetryAt ? { failureClass: e.adapterClass, retryAt: e.adapterRetryAt } : { failureClass: e.adapterClass };
  }
  // The agent's words, where the final event said nothing specific: the
  // reason first (it is the final event's text), then the last stderr lines.
  const tail = (e.stderrTail ?? '').split('\n').slice(-20).join('\n');
  for (const text of [e.reason ?? '', tail]) {
    if (!text) continue;
    const hint = classifyText(text, e.now);
    if (hint.failureClass && hint.failureClass !== 'agent_error') {
      return hint.retryAt ? { failureClass: hint.failureClass, retryAt: hint.retryAt } : { failureClass: hint.failureClass };
    }
  }
  // Shells' conventions for "command not found" and "not executable".
  if (e.exitCode === 127 || e.exitCode === 126) return { failureClass: 'missing_executable' };
  if (e.adapterClass === 'invalid_output') return { failureClass: 'invalid_output' };
  return { failureClass: 'agent_error' };
}

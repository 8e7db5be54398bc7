/**
 * What an agent is told for one run. A retry or an answer never replays the
 * whole conversation: when the agent's own session can be resumed here, the
 * run sends only the new input (the answer, or a short note on the failure);
 * otherwise the run starts fresh from the original prompt and says so.
 */
import type { AssignFrame } from '../core/protocol.js';

export interface RunPrompt {
  prompt: string;
  resumeSessionId?: string;
  /** Shown on the task when the session could not be resumed. */
  note?: string;
}

export function composePrompt(a: AssignFrame, opts: { supportsResume: boolean; selfId: string; retrySummary?: string }): RunPrompt {
  const canResume = Boolean(a.resumeSessionId) && opts.supportsResume && (a.previousDaemonId === null || a.previousDaemonId === opts.selfId);
  if (a.answer) {
    if (canResume) return { prompt: `The user answered your question:\n\n${a.answer}\n\nContinue the task.`, resumeSessionId: a.resumeSessionId! };
    return {
      prompt: `${a.prompt}\n\nEarlier you asked a question about this task. The user's answer:\n\n${a.answer}`,
      ...(a.resumeSessionId ? { note: 'the previous session is not available on this runtime; started fresh with the answer' } : {}),
    };
  }
  if (a.attempt > 1 && opts.retrySummary) {
    if (canResume) return { prompt: `The previous attempt failed: ${opts.retrySummary}\n\nTry again and finish the task.`, resumeSessionId: a.resumeSessionId! };
    return {
      prompt: `${a.prompt}\n\n(A previous attempt failed: ${opts.retrySummary})`,
      ...(a.resumeSessionId ? { note: 'the previous session is not available on this runtime; started fresh' } : {}),
    };
  }
  return { prompt: a.prompt };
}

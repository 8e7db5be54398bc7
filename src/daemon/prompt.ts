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

/** Told to agents that can run commands: how to ask a question or report progress. */
export function askInstructions(command = 'switchyard'): string {
  return (
    `If you need a decision or information from the user to finish, run \`${command} ask "<your question>"\` (or call the ask_user tool if you have it), then end your turn; ` +
    `the task pauses and you will be resumed with the answer. Report milestones with \`${command} progress "<note>"\`.`
  );
}

export interface PromptOptions {
  supportsResume: boolean;
  selfId: string;
  retrySummary?: string;
  /** Appended to a fresh prompt (a resumed session has heard it already). */
  preamble?: string;
}

/**
 * The workspace's suggested skills as prior solutions (issue 5), when the
 * workspace injects them: a name and a short description each, framed as
 * hints the agent may ignore.
 */
export function priorSolutions(a: Pick<AssignFrame, 'suggestions' | 'injectSuggestions'>): string | undefined {
  if (!a.injectSuggestions || a.suggestions.length === 0) return undefined;
  const items = a.suggestions.map((s, i) => {
    const d = (s.description ?? '').replace(/\s+/g, ' ').trim();
    return `${i + 1}. ${s.name}${d ? ` — ${d.length > 600 ? `${d.slice(0, 599)}…` : d}` : ''}`;
  });
  return `Prior solutions from this workspace's skill library (similar tasks completed before; use them if they apply):\n${items.join('\n')}`;
}

export function composePrompt(a: AssignFrame, opts: PromptOptions): RunPrompt {
  const p = compose(a, opts);
  const prior = p.resumeSessionId ? undefined : priorSolutions(a);
  if (prior) p.prompt = `${p.prompt}\n\n---\n${prior}`;
  if (opts.preamble && !p.resumeSessionId) p.prompt = `${p.prompt}\n\n---\n${opts.preamble}`;
  return p;
}

function compose(a: AssignFrame, opts: PromptOptions): RunPrompt {
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

/** What a completed task becomes in the library: a short name and a description an agent can use. */

export const NAME_MAX = 120;
export const PROMPT_MAX = 1_500;
export const RESULT_MAX = 1_000;

function clip(s: string, max: number): string {
  const t = s.trim();
  return t.length <= max ? t : `${t.slice(0, max - 1).trimEnd()}…`;
}

export interface TaskForSkill {
  prompt: string;
  resultText: string | null;
}

/**
 * Name: the prompt's first non-empty line (what people write as a title).
 * Description: the prompt, then the agent's final answer — both trimmed, so
 * a long transcript cannot crowd out the words that say what the task was.
 */
export function skillFromTask(t: TaskForSkill): { name: string; description: string } {
  const first = t.prompt.split('\n').map((l) => l.trim()).find(Boolean) ?? 'task';
  const name = clip(first.replace(/\s+/g, ' '), NAME_MAX);
  const prompt = clip(t.prompt, PROMPT_MAX);
  const result = t.resultText ? clip(t.resultText, RESULT_MAX) : '';
  return { name, description: result ? `${prompt}\n\nResult: ${result}` : prompt };
}

/** The text that is embedded and searched for a skill. */
export function embedText(s: { name: string; description: string }): string {
  return `${s.name}\n${s.description}`;
}

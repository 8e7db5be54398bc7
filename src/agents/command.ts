/**
 * A command agent: any binary the config names, run with an argument template
 * and read as plain text. `{prompt}`, `{model}`, `{workdir}` and `{session}`
 * are replaced inside each template element, in one pass (a prompt containing
 * `{model}` stays as it is), and each element stays one argument: nothing is
 * split or handed to a shell.
 *
 * An element whose placeholder has no value (no model, no session) is left
 * out, so write `--model={model}` as one element to drop the option with it.
 * A template without `{prompt}` gets the prompt on stdin.
 */
import { completed, ev, exitText, failedOutcome, parseSemver } from './shared.js';
import type { AgentAdapter, Invocation, LineParser, Outcome, RunSpec } from './types.js';

export const DEFAULT_ARGS_TEMPLATE: readonly string[] = ['{prompt}'];

type Placeholder = 'prompt' | 'model' | 'workdir' | 'session';
const PLACEHOLDER = /\{(prompt|model|workdir|session)\}/g;
/** The answer kept for the run record: the end of stdout, where commands print their result. */
const MAX_RESULT_CHARS = 100_000;

/** The template with its placeholders replaced; elements naming a value that is absent are dropped. */
export function expandTemplate(template: readonly string[], values: Partial<Record<Placeholder, string>>): string[] {
  const args: string[] = [];
  for (const element of template) {
    let missing = false;
    const arg = element.replace(PLACEHOLDER, (_match, key: Placeholder) => {
      const value = values[key];
      if (value === undefined) missing = true;
      return value ?? '';
    });
    if (!missing) args.push(arg);
  }
  return args;
}

export interface CommandAgentOptions {
  /** The agent's name in the config and on tasks. */
  name: string;
  /** The binary to run; the config's `binary`, else the name itself. */
  binary?: string;
  /** The config's `args`; `["{prompt}"]` when absent. */
  argsTemplate?: readonly string[];
}

function createParser(): LineParser {
  const stdout: string[] = [];
  let size = 0;
  let lastStderr: string | undefined;
  return {
    onStdout(line) {
      stdout.push(line);
      size += line.length + 1;
      while (size > MAX_RESULT_CHARS && stdout.length > 1) size -= (stdout.shift() ?? '').length + 1;
      return [ev('text', line, line)];
    },
    onStderr(line) {
      if (line.trim()) lastStderr = line.trim();
      return [ev('text', line, line, undefined, 'stderr')];
    },
    facts() {
      const text = stdout.join('\n');
      return text.trim() ? { sawFinal: false, resultText: text } : { sawFinal: false };
    },
    outcome(exit): Outcome {
      // Plain text has no final event: the exit code is all there is to go by.
      if (exit.code === 0 && !exit.signal) {
        const text = stdout.join('\n');
        return completed(text.trim() ? text : undefined);
      }
      return failedOutcome(`${exitText(exit)}${lastStderr ? `: ${lastStderr}` : ''}`);
    },
  };
}

export function createCommandAdapter(options: CommandAgentOptions): AgentAdapter {
  const template = options.argsTemplate ?? DEFAULT_ARGS_TEMPLATE;
  return {
    name: options.name,
    defaultBinary: options.binary ?? options.name,
    envPassthrough: [],
    // Plain text carries no session id to resume.
    supportsResume: false,
    // An arbitrary command may not know `--version`, and probing would run it with that as the prompt.
    versionArgs: [],
    parseVersion: parseSemver,
    buildInvocation(spec: RunSpec): Invocation {
      const chosen = spec.argsTemplate ?? template;
      const promptInArgs = chosen.some((element) => element.includes('{prompt}'));
      const args = expandTemplate(chosen, {
        ...(promptInArgs ? { prompt: spec.prompt } : {}),
        ...(spec.model !== undefined ? { model: spec.model } : {}),
        workdir: spec.workdir,
        ...(spec.resumeSessionId !== undefined ? { session: spec.resumeSessionId } : {}),
      });
      return promptInArgs ? { args, env: {} } : { args, stdin: spec.prompt, env: {} };
    },
    createParser,
  };
}

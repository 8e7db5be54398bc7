/**
 * Gemini CLI (`gemini -o stream-json`, npm `@google/gemini-cli`).
 *
 * The prompt is one `--prompt=<text>` argument: yargs reads the value after
 * `=` verbatim, whereas `-p <text>` would leave a prompt starting with `-` to
 * be parsed as options. A prompt too long for one argv element goes on stdin
 * instead, which the CLI reads as the prompt when no `--prompt` is given.
 */
import {
  completed,
  createAnswer,
  createRunState,
  ev,
  finalError,
  MAX_ARG_BYTES,
  missingFinal,
  num,
  obj,
  parseSemver,
  str,
  toolCallEvent,
  toolResultEvent,
  usageEvent,
  usageOf,
  type Json,
} from './shared.js';
import { createJsonLineParser } from './jsonLineParser.js';
import type { AgentAdapter, Invocation, LineParser, NormalizedEvent, Outcome, RunSpec, TokenUsage } from './types.js';

/** Exit codes of gemini-cli 0.61 (README). */
const EXIT_MEANING: Record<number, string> = {
  41: 'authentication failed',
  42: 'invalid input',
  44: 'sandbox error',
  52: 'configuration error',
  53: 'turn limit reached',
  54: 'tool error',
  55: 'untrusted folder',
  130: 'cancelled',
};

function buildInvocation(spec: RunSpec): Invocation {
  const onStdin = Buffer.byteLength(spec.prompt, 'utf8') > MAX_ARG_BYTES;
  const args = onStdin ? [] : [`--prompt=${spec.prompt}`];
  args.push('--output-format', 'stream-json', '--approval-mode', 'yolo', '--skip-trust');
  // Always passing a model also avoids `auto`, whose router call retries for ~80 s when it gets no JSON (README).
  if (spec.model) args.push(`--model=${spec.model}`);
  if (spec.resumeSessionId) args.push(`--resume=${spec.resumeSessionId}`);
  args.push(...(spec.extraArgs ?? []));
  return onStdin ? { args, stdin: spec.prompt, env: {} } : { args, env: {} };
}

/** Gemini's `input_tokens` include the cached ones (`cached` + `input`); TokenUsage keeps them apart. */
function geminiUsage(stats: Json): TokenUsage {
  const cached = num(stats.cached) ?? 0;
  const input = num(stats.input) ?? (num(stats.input_tokens) ?? 0) - cached;
  return usageOf(input, num(stats.output_tokens) ?? 0, cached, 0);
}

function createParser(): LineParser {
  const st = createRunState();
  const f = st.facts;
  const answer = createAnswer();
  let result: Json | undefined;

  function handle(msg: Json, type: string, line: string): NormalizedEvent[] {
    switch (type) {
      case 'init':
        f.sessionId = str(msg.session_id) ?? f.sessionId;
        f.model = str(msg.model) ?? f.model;
        return [ev('status', line, `session ${f.sessionId ?? '?'} · ${f.model ?? '?'}`, { sessionId: f.sessionId, model: f.model })];
      case 'message': {
        // The CLI echoes the prompt as a user message; the prompt is already on the task.
        if (str(msg.role) !== 'assistant') return [ev('status', line, `${str(msg.role) ?? 'unknown'} message`, { role: str(msg.role) })];
        const text = str(msg.content) ?? '';
        answer.add(text);
        return [ev('text', line, text, { delta: msg.delta === true })];
      }
      case 'tool_use': {
        answer.toolCalled();
        const name = str(msg.tool_name) ?? 'tool';
        return [toolCallEvent(line, name, msg.parameters, { id: str(msg.tool_id) })];
      }
      case 'tool_result': {
        const isError = str(msg.status) === 'error';
        const output = str(msg.output) ?? str(obj(msg.error)?.message) ?? '';
        return [toolResultEvent(line, output, { id: str(msg.tool_id), status: str(msg.status), isError })];
      }
      case 'error': {
        const message = str(msg.message) ?? '';
        if (str(msg.severity) === 'warning') return [ev('status', line, `warning: ${message}`, { severity: 'warning', message })];
        st.noteError(message);
        return [ev('error', line, message, { severity: str(msg.severity), status: num(msg.status) })];
      }
      case 'result': {
        result = msg;
        f.sawFinal = true;
        f.resultText = answer.value();
        const stats = obj(msg.stats);
        if (stats) f.usage = geminiUsage(stats);
        f.model ??= Object.keys(obj(stats?.models) ?? {})[0];
        const isError = str(msg.status) !== 'success';
        const message = str(obj(msg.error)?.message);
        if (isError) st.noteError(message ?? 'error');
        const data = { status: str(msg.status), isError, toolCalls: num(stats?.tool_calls), durationMs: num(stats?.duration_ms) };
        return [...(stats ? [usageEvent(line, f)] : []), ev('result', line, isError ? (message ?? 'error') : (f.resultText ?? ''), data)];
      }
      default:
        return [ev('status', line, type, { type })];
    }
  }

  return createJsonLineParser(st, handle, (exit): Outcome => {
    if (!result) {
      const meaning = exit.code !== null ? EXIT_MEANING[exit.code] : undefined;
      return missingFinal(st, exit, exit.code === 41 ? { failureClass: 'auth' } : {}, meaning);
    }
    if (str(result.status) === 'success') return completed(f.resultText);
    const message = str(obj(result.error)?.message) ?? `status ${str(result.status) ?? 'unknown'}`;
    return finalError(st, `error: ${message}`);
  });
}

export const gemini: AgentAdapter = {
  name: 'gemini',
  defaultBinary: 'gemini',
  envPassthrough: ['GEMINI_', 'GOOGLE_'],
  supportsResume: true,
  versionArgs: ['--version'],
  // `0.61.0`
  parseVersion: parseSemver,
  buildInvocation,
  createParser,
};

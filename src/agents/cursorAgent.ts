/**
 * Cursor Agent (`cursor-agent`, installed by Cursor's own script, not npm).
 *
 * The prompt is the positional argument after `--`, so a prompt starting with
 * `-` is never read as an option. Unlike the other CLIs its stdin is not known
 * to carry a prompt, so a prompt over the argv limit (128 KiB) cannot be sent.
 *
 * Events (README, and Cursor's stream-json reference): `system` init,
 * `user` echo, `thinking` deltas, `assistant` messages, `tool_call`
 * started/completed with the tool under `tool_call.<kind>ToolCall`, and
 * `result`. The stream may end without `result` on failure.
 */
import {
  completed,
  contentText,
  createAnswer,
  createRunState,
  ev,
  finalError,
  list,
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
import type { AgentAdapter, Invocation, LineParser, NormalizedEvent, Outcome, RunSpec } from './types.js';

function buildInvocation(spec: RunSpec): Invocation {
  const args = ['-p', '--output-format', 'stream-json', '--trust', '--force', `--workspace=${spec.workdir}`];
  if (spec.model) args.push(`--model=${spec.model}`);
  if (spec.resumeSessionId) args.push(`--resume=${spec.resumeSessionId}`);
  args.push(...(spec.extraArgs ?? []), '--', spec.prompt);
  return { args, env: {} };
}

/** `{ shellToolCall: { args, result } }` → the tool's name, input and result. */
function toolOf(toolCall: Json | undefined): { name: string; input: unknown; result: Json | undefined } {
  const [key, value] = Object.entries(toolCall ?? {})[0] ?? ['tool', undefined];
  const body = obj(value);
  if (key === 'function') {
    const raw = body?.arguments;
    let input: unknown = raw;
    if (typeof raw === 'string') {
      try {
        input = JSON.parse(raw);
      } catch {
        input = raw;
      }
    }
    return { name: str(body?.name) ?? 'function', input, result: obj(body?.result) };
  }
  return { name: key.replace(/ToolCall$/, ''), input: body?.args, result: obj(body?.result) };
}

function resultOf(result: Json | undefined): { output: string; isError: boolean; exitCode?: number } {
  const success = obj(result?.success);
  if (!success) {
    const failure = result?.error ?? result?.failure ?? result?.rejected ?? result;
    const f = obj(failure);
    return { output: str(f?.errorMessage) ?? str(f?.message) ?? str(f?.error) ?? contentText(failure), isError: true };
  }
  const exitCode = num(success.exitCode);
  // A shell result is its output streams, even when both are empty.
  const isShell = 'stdout' in success || 'stderr' in success;
  const streams = [str(success.stdout), str(success.stderr)].filter((s) => s !== undefined && s !== '').join('\n');
  const output = isShell ? streams : (str(success.content) ?? str(success.output) ?? contentText(success));
  return { output, isError: exitCode !== undefined && exitCode !== 0, ...(exitCode !== undefined ? { exitCode } : {}) };
}

function createParser(): LineParser {
  const st = createRunState();
  const f = st.facts;
  const answer = createAnswer('\n');
  let result: Json | undefined;

  function handle(msg: Json, type: string, line: string): NormalizedEvent[] {
    const subtype = str(msg.subtype);
    f.sessionId = str(msg.session_id) ?? f.sessionId;
    switch (type) {
      case 'system':
        f.model = str(msg.model) ?? f.model;
        return [ev('status', line, `session ${f.sessionId ?? '?'} · ${f.model ?? '?'}`, { subtype, sessionId: f.sessionId, model: f.model })];
      case 'thinking':
        return subtype === 'delta' ? [ev('thinking', line, str(msg.text) ?? '', { delta: true })] : [ev('status', line, `thinking ${subtype ?? ''}`.trim())];
      case 'assistant': {
        const text = list(obj(msg.message)?.content)
          .map((c) => str(obj(c)?.text) ?? '')
          .join('');
        answer.add(text);
        return [ev('text', line, text)];
      }
      case 'tool_call': {
        const id = str(msg.call_id);
        const { name, input, result: toolResult } = toolOf(obj(msg.tool_call));
        if (subtype !== 'completed') {
          answer.toolCalled();
          return [toolCallEvent(line, name, input, { id })];
        }
        const { output, ...rest } = resultOf(toolResult);
        return [toolResultEvent(line, output, { name, id, ...rest })];
      }
      case 'result': {
        result = msg;
        f.sawFinal = true;
        f.resultText = str(msg.result) ?? answer.value();
        const u = obj(msg.usage);
        if (u) {
          f.usage = usageOf(num(u.inputTokens) ?? 0, num(u.outputTokens) ?? 0, num(u.cacheReadTokens) ?? 0, num(u.cacheWriteTokens) ?? 0);
        }
        const isError = msg.is_error === true || (subtype !== undefined && subtype !== 'success');
        if (isError) st.noteError(str(msg.result) ?? str(msg.error) ?? subtype ?? 'error');
        const data = { subtype, isError, durationMs: num(msg.duration_ms), sessionId: f.sessionId };
        return [...(u ? [usageEvent(line, f)] : []), ev('result', line, f.resultText ?? '', data)];
      }
      default:
        return [ev('status', line, subtype ? `${type} ${subtype}` : type, { type })];
    }
  }

  return createJsonLineParser(st, handle, (exit): Outcome => {
    if (!result) return missingFinal(st, exit);
    const subtype = str(result.subtype);
    if (result.is_error !== true && (subtype === undefined || subtype === 'success')) return completed(f.resultText);
    const text = str(result.result) ?? str(result.error) ?? subtype ?? 'reported an error';
    return finalError(st, `error: ${text.split('\n')[0]}`);
  });
}

export const cursorAgent: AgentAdapter = {
  name: 'cursor-agent',
  defaultBinary: 'cursor-agent',
  envPassthrough: ['CURSOR_'],
  supportsResume: true,
  versionArgs: ['--version'],
  // `2025.10.28-0a91dc2`
  parseVersion: parseSemver,
  buildInvocation,
  createParser,
};

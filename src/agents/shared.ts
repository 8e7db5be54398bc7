/**
 * What every adapter's parser needs: reading a JSON line without ever
 * throwing, building normalized events, adding up token usage, keeping the
 * final answer, and the outcome of a run that stopped without its final event.
 * Pure: no I/O, no clock except `Date.now()` for rate-limit reset times.
 */
import { classifyText, type FailureClass, type FailureHint } from '../core/failureText.js';
import type { EventKind, EventStream, ExitInfo, NormalizedEvent, Outcome, RunFacts, TokenUsage } from './types.js';

export type Json = Record<string, unknown>;

/**
 * Linux caps one argv element at 128 KiB (MAX_ARG_STRLEN) and fails the spawn
 * with E2BIG past it; the config allows prompts of 256 KiB. Adapters whose CLI
 * can read the prompt from stdin switch to stdin above this size.
 */
export const MAX_ARG_BYTES = 100_000;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
export const obj = (v: unknown): Json | undefined => (isObject(v) ? v : undefined);
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** One stdout line as a JSON object, or `undefined` for anything else (never throws). */
export function parseJsonLine(line: string): Json | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(t);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function ev(kind: EventKind, raw: string, text?: string, data?: Json, stream: EventStream = 'stdout'): NormalizedEvent {
  const e: NormalizedEvent = { stream, kind, raw };
  if (text !== undefined) e.text = text;
  if (data !== undefined) e.data = data;
  return e;
}

/** Tool output and long inputs are cut for `text`; the raw line keeps all of it. */
export function clip(text: string, max = 4000): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

/** A one-line description of a tool call: its name and the argument people look for first. */
export function toolText(name: string, input: unknown): string {
  const i = obj(input);
  const main = str(i?.command) ?? str(i?.cmd) ?? str(i?.file_path) ?? str(i?.filePath) ?? str(i?.path) ?? str(i?.pattern) ?? str(i?.url) ?? str(i?.query);
  if (main !== undefined) return `${name}: ${clip(main, 300)}`;
  return input === undefined ? name : `${name} ${clip(JSON.stringify(input) ?? '', 300)}`;
}

/** A tool call as every adapter reports it: the one-line description as text; its name and input in data. */
export function toolCallEvent(raw: string, name: string, input: unknown, data: Json = {}): NormalizedEvent {
  return ev('tool_call', raw, toolText(name, input), { name, ...data, input });
}

/** A tool's result as every adapter reports it: the output clipped, as text and in data. */
export function toolResultEvent(raw: string, output: string, data: Json): NormalizedEvent {
  const text = clip(output);
  return ev('tool_result', raw, text, { ...data, output: text });
}

/** Text of a tool result that may be a string, a list of content blocks, or structured data. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => str(obj(c)?.text) ?? (typeof c === 'string' ? c : '')).join('');
  return content === undefined || content === null ? '' : (JSON.stringify(content) ?? '');
}

export function usageOf(input: number, output: number, cacheRead = 0, cacheWrite = 0): TokenUsage {
  return { inputTokens: Math.max(0, input), outputTokens: output, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite };
}

export function addUsage(a: TokenUsage | undefined, b: TokenUsage): TokenUsage {
  if (!a) return { ...b };
  return usageOf(
    a.inputTokens + b.inputTokens,
    a.outputTokens + b.outputTokens,
    (a.cacheReadTokens ?? 0) + (b.cacheReadTokens ?? 0),
    (a.cacheWriteTokens ?? 0) + (b.cacheWriteTokens ?? 0),
  );
}

/** Every token the run consumed, the number a token budget is compared with. */
export function totalTokens(u: TokenUsage): number {
  return u.inputTokens + u.outputTokens + (u.cacheReadTokens ?? 0) + (u.cacheWriteTokens ?? 0);
}

/** A `usage` event with the run's totals so far (not the increment), so the daemon can check a budget on each one. */
export function usageEvent(raw: string, facts: RunFacts): NormalizedEvent {
  const u = facts.usage ?? usageOf(0, 0);
  const cost = facts.costUsd !== undefined ? ` · $${facts.costUsd.toFixed(4)}` : '';
  const text = `tokens: ${u.inputTokens} in, ${u.outputTokens} out, ${u.cacheReadTokens ?? 0} cache read, ${u.cacheWriteTokens ?? 0} cache write${cost}`;
  return ev('usage', raw, text, { ...u, totalTokens: totalTokens(u), ...(facts.costUsd !== undefined ? { costUsd: facts.costUsd } : {}) });
}

/**
 * The final answer: the assistant text after the last tool call. Text before a
 * tool call is narration ("I will create the file…"), not the answer.
 */
export function createAnswer(separator = '') {
  let parts: string[] = [];
  let stale = false;
  return {
    add(text: string) {
      if (stale) parts = [];
      stale = false;
      parts.push(text);
    },
    /** A tool call happened: the next text starts a new answer. */
    toolCalled() {
      stale = true;
    },
    /** `undefined` when the run ended on a tool call with no words after it. */
    value(): string | undefined {
      if (stale) return undefined;
      const text = parts.join(separator);
      return text.trim() ? text : undefined;
    },
  };
}

/** State every parser keeps besides its own: facts, error messages seen, whether the output looked like the protocol at all. */
export function createRunState() {
  const facts: RunFacts = { sawFinal: false };
  const errors: string[] = [];
  let protocolLines = 0;
  let rawLines = 0;
  const noteError = (message: string) => {
    if (!message.trim()) return;
    errors.push(message.trim());
    if (errors.length > 20) errors.shift();
  };
  return {
    facts,
    /** Messages of error events and error-looking stderr lines, latest last (the last 20). */
    errors,
    noteError,
    /** A line that parsed as a JSON object of the protocol. */
    sawProtocol() {
      protocolLines++;
    },
    raw(line: string): NormalizedEvent[] {
      if (!line.trim()) return [];
      rawLines++;
      return [ev('raw', line, line)];
    },
    stderr(line: string): NormalizedEvent[] {
      if (!line.trim()) return [];
      if (!STDERR_ERROR.test(line)) return [ev('text', line, line, undefined, 'stderr')];
      noteError(line);
      return [ev('error', line, line, undefined, 'stderr')];
    },
    snapshot(): RunFacts {
      return { ...facts, ...(facts.usage ? { usage: { ...facts.usage } } : {}) };
    },
    onlyGarbage(): boolean {
      return protocolLines === 0 && rawLines > 0;
    },
  };
}

export type RunState = ReturnType<typeof createRunState>;

// Gemini retries a rate limit with `Attempt 1 failed: … Please retry in 35.2s.` on stderr and prints nothing on stdout.
const STDERR_ERROR = /^\s*(?:[Ee]rror|[Ff]atal|[Pp]anic)\b|^\s*[\w.]*(?:Error|Exception)\b|^\s*■|\bERROR\b|\b(?:[Ff]ailed|[Ee]rror):/;

export function exitText(exit: ExitInfo): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return exit.code === null ? 'no exit code' : `exit code ${exit.code}`;
}

export function completed(resultText: string | undefined): Outcome {
  return resultText === undefined ? { status: 'completed' } : { status: 'completed', resultText };
}

export function failedOutcome(reason: string, hint: FailureHint = {}): Outcome {
  return {
    status: 'failed',
    reason: clip(reason.trim(), 500),
    ...(hint.failureClass ? { failureClass: hint.failureClass } : {}),
    ...(hint.retryAt ? { retryAt: hint.retryAt } : {}),
  };
}

/** A final event that reports an error: classified by the error messages seen, else an `agent_error`. */
export function finalError(state: RunState, reason: string, fallback: FailureClass = 'agent_error'): Outcome {
  const hint = classifyText(state.errors.join('\n'));
  return failedOutcome(reason, hint.failureClass ? hint : { failureClass: fallback });
}

/** The process is gone and no final event came: a failure whatever the exit code (README: decide from the final event). */
export function missingFinal(state: RunState, exit: ExitInfo, hint: FailureHint = {}, exitMeaning?: string): Outcome {
  const last = state.errors.at(-1);
  const how = exitMeaning ? `${exitText(exit)}: ${exitMeaning}` : exitText(exit);
  const reason = `ended without a final result event (${how})${last ? `: ${last}` : ''}`;
  let h = hint.failureClass ? hint : state.errors.length > 0 ? classifyText(state.errors.join('\n')) : {};
  if (!h.failureClass && state.onlyGarbage()) h = { failureClass: 'invalid_output' };
  return failedOutcome(reason, h);
}

/** The first version-looking token (`2.1.332`, `2025.10.28-0a91dc2`) of a `--version` output. */
export function parseSemver(output: string): string | undefined {
  return /\b(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)\b/.exec(output)?.[1];
}

/**
 * OpenCode (`opencode run --format json`, npm `opencode-ai`).
 *
 * The prompt goes on stdin with no message argument. `opencode run` joins its
 * message arguments after wrapping any that contain a space in quotes (so an
 * argument would not reach the model byte for byte), while piped stdin is
 * taken as the message as it is; stdin also has no argv size limit.
 *
 * There is no final event: a run is finished when its last `step_finish` has a
 * reason other than `tool-calls` (README), or when an `error` event ends it.
 * Tokens and cost are reported per step and summed here.
 */
import { classifyStatus, classifyText } from '../core/failureText.js';
import {
  addUsage,
  completed,
  createAnswer,
  createRunState,
  ev,
  failedOutcome,
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

/** Keys of the model providers OpenCode users most often configure through the environment. */
const PROVIDER_PREFIXES = ['ANTHROPIC_', 'OPENAI_', 'GEMINI_', 'GOOGLE_', 'OPENROUTER_', 'GROQ_', 'MISTRAL_', 'DEEPSEEK_', 'XAI_', 'AZURE_'];

function buildInvocation(spec: RunSpec): Invocation {
  const args = ['run', '--format', 'json', '--auto', `--dir=${spec.workdir}`];
  if (spec.model) args.push(`--model=${spec.model}`);
  if (spec.resumeSessionId) args.push(`--session=${spec.resumeSessionId}`);
  args.push(...(spec.extraArgs ?? []));
  return { args, stdin: spec.prompt, env: {} };
}

type Final = { kind: 'step'; reason: string } | { kind: 'error'; name: string; message: string; status?: number };

function createParser(): LineParser {
  const st = createRunState();
  const f = st.facts;
  const answer = createAnswer('\n');
  let final: Final | undefined;
  let lastReason: string | undefined;

  function handle(msg: Json, type: string, line: string): NormalizedEvent[] {
    const part = obj(msg.part) ?? {};
    f.sessionId = str(msg.sessionID) ?? str(part.sessionID) ?? f.sessionId;
    switch (type) {
      case 'step_start':
        // A step after a finished one means the run goes on after all.
        final = undefined;
        f.sawFinal = false;
        return [ev('status', line, 'step started', { sessionId: f.sessionId })];
      case 'text': {
        const text = str(part.text) ?? '';
        answer.add(text);
        return [ev('text', line, text)];
      }
      case 'reasoning':
        return [ev('thinking', line, str(part.text) ?? '')];
      case 'tool_use': {
        answer.toolCalled();
        const name = str(part.tool) ?? 'tool';
        const state = obj(part.state) ?? {};
        const id = str(part.callID);
        const isError = str(state.status) === 'error';
        const output = isError ? (str(state.error) ?? 'error') : (str(state.output) ?? '');
        return [
          toolCallEvent(line, name, state.input, { id, title: str(state.title) }),
          toolResultEvent(line, output, { name, id, status: str(state.status), isError }),
        ];
      }
      case 'step_finish': {
        const tokens = obj(part.tokens) ?? {};
        const cache = obj(tokens.cache) ?? {};
        // `reasoning` is counted apart from `output`; both are tokens the model produced.
        const output = (num(tokens.output) ?? 0) + (num(tokens.reasoning) ?? 0);
        f.usage = addUsage(f.usage, usageOf(num(tokens.input) ?? 0, output, num(cache.read) ?? 0, num(cache.write) ?? 0));
        const cost = num(part.cost);
        if (cost !== undefined) f.costUsd = (f.costUsd ?? 0) + cost;
        lastReason = str(part.reason) ?? 'unknown';
        final = lastReason === 'tool-calls' ? undefined : { kind: 'step', reason: lastReason };
        f.sawFinal = final !== undefined;
        if (final) f.resultText = answer.value();
        const events = [usageEvent(line, f)];
        if (final) events.push(ev('result', line, f.resultText ?? '', { reason: lastReason, isError: !finishedWell(lastReason) }));
        return events;
      }
      case 'error': {
        const error = obj(msg.error) ?? {};
        const data = obj(error.data) ?? {};
        const name = str(error.name) ?? 'Error';
        const message = str(data.message) ?? str(error.message) ?? name;
        const status = num(data.statusCode);
        final = { kind: 'error', name, message, ...(status !== undefined ? { status } : {}) };
        f.sawFinal = true;
        st.noteError(`${name}: ${message}`);
        return [ev('error', line, message, { name, statusCode: status })];
      }
      default:
        return [ev('status', line, type, { type })];
    }
  }

  return createJsonLineParser(st, handle, (exit): Outcome => {
    if (!final) return missingFinal(st, exit, {}, lastReason === 'tool-calls' ? 'the last step asked for tool calls' : undefined);
    if (final.kind === 'step') {
      if (finishedWell(final.reason)) return completed(f.resultText);
      return failedOutcome(`step finished with reason ${final.reason}`, { failureClass: 'agent_error' });
    }
    const byText = classifyText(`${final.name}: ${final.message}`);
    const failureClass = byText.failureClass ?? classifyStatus(final.status) ?? (final.name === 'ProviderAuthError' ? 'auth' : 'agent_error');
    return failedOutcome(`${final.name}: ${final.message}`, { ...byText, failureClass });
  });
}

/** `length`, `content-filter` and `error` end a step without an answer. */
function finishedWell(reason: string): boolean {
  return !['length', 'content-filter', 'error'].includes(reason);
}

export const opencode: AgentAdapter = {
  name: 'opencode',
  defaultBinary: 'opencode',
  envPassthrough: ['OPENCODE_', ...PROVIDER_PREFIXES],
  supportsResume: true,
  versionArgs: ['--version'],
  // `1.18.33`
  parseVersion: parseSemver,
  buildInvocation,
  createParser,
};

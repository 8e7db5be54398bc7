/**
 * Claude Code (`claude`, npm `@anthropic-ai/claude-code`).
 *
 * The prompt goes on stdin as one stream-json user message rather than as an
 * argument: it then never meets an argument parser (a prompt starting with
 * `--` stays a prompt), and its size is not bound by the 128 KiB argv limit.
 *
 * The outcome is the final `result` event alone: Claude reports API errors as
 * `subtype:"success"` with `is_error:true` and may exit 0 (README).
 */
import { classifyStatus, classifyText, type FailureClass, type FailureHint } from '../core/failureText.js';
import {
  addUsage,
  completed,
  contentText,
  createRunState,
  ev,
  failedOutcome,
  list,
  missingFinal,
  num,
  obj,
  parseSemver,
  str,
  toolCallEvent,
  toolResultEvent,
  totalTokens,
  usageEvent,
  usageOf,
  type Json,
} from './shared.js';
import { createJsonLineParser } from './jsonLineParser.js';
import type { AgentAdapter, Invocation, LineParser, NormalizedEvent, Outcome, RunSpec, TokenUsage } from './types.js';

// `--disallowedTools` takes a list: an option must follow it, never a bare value.
const BASE_ARGS = [
  '-p',
  '--output-format',
  'stream-json',
  '--verbose',
  '--input-format',
  'stream-json',
  '--disallowedTools',
  'AskUserQuestion',
  '--permission-mode',
  'bypassPermissions',
];

function buildInvocation(spec: RunSpec): Invocation {
  // `--flag=value` keeps a value starting with `-` from being read as an option.
  const args = [...BASE_ARGS];
  if (spec.model) args.push(`--model=${spec.model}`);
  if (spec.resumeSessionId) args.push(`--resume=${spec.resumeSessionId}`);
  if (spec.mcpConfigPath) args.push(`--mcp-config=${spec.mcpConfigPath}`);
  args.push(...(spec.extraArgs ?? []));
  const message = { type: 'user', message: { role: 'user', content: [{ type: 'text', text: spec.prompt }] } };
  // As root, bypassPermissions is refused unless the CLI is told it runs in a sandbox.
  return { args, stdin: `${JSON.stringify(message)}\n`, env: spec.runningAsRoot ? { IS_SANDBOX: '1' } : {} };
}

function claudeUsage(u: Json): TokenUsage {
  return usageOf(num(u.input_tokens) ?? 0, num(u.output_tokens) ?? 0, num(u.cache_read_input_tokens) ?? 0, num(u.cache_creation_input_tokens) ?? 0);
}

/** The `error` field Claude puts on an assistant message that carries an API error instead of an answer. */
const ASSISTANT_ERROR_CLASS: Record<string, FailureClass> = {
  authentication_failed: 'auth',
  rate_limit: 'rate_limited',
};

function createParser(): LineParser {
  const st = createRunState();
  const f = st.facts;
  // Claude prints one `assistant` event per content block, each repeating the message's usage: count each message once.
  const usageByMessage = new Map<string, TokenUsage>();
  let result: Json | undefined;
  let assistantError: { kind: string; text: string; status?: number } | undefined;
  let limitResetAt: string | undefined;

  function system(msg: Json, line: string): NormalizedEvent[] {
    const subtype = str(msg.subtype) ?? 'system';
    if (subtype === 'api_retry') {
      // Claude retries failing API calls (even a 401) about ten times over minutes, printing only these.
      const what = `API retry ${num(msg.attempt) ?? '?'}/${num(msg.max_retries) ?? '?'}: ${num(msg.error_status) ?? ''} ${str(msg.error) ?? ''}`.trim();
      st.noteError(what);
      return [ev('status', line, what, { subtype, attempt: num(msg.attempt), errorStatus: num(msg.error_status), error: str(msg.error) })];
    }
    if (subtype !== 'init') return [ev('status', line, `system ${subtype}`, { subtype })];
    f.sessionId = str(msg.session_id) ?? f.sessionId;
    f.model = str(msg.model) ?? f.model;
    f.agentVersion = str(msg.claude_code_version) ?? f.agentVersion;
    // `mcp_servers` says whether switchyard's MCP server (`--mcp-config`) started.
    const data = { subtype, sessionId: f.sessionId, model: f.model, version: f.agentVersion, cwd: str(msg.cwd), mcpServers: msg.mcp_servers };
    return [ev('status', line, `session ${f.sessionId ?? '?'} · ${f.model ?? '?'} · claude-code ${f.agentVersion ?? '?'}`, data)];
  }

  function assistant(msg: Json, line: string): NormalizedEvent[] {
    const m = obj(msg.message);
    const errorKind = str(msg.error);
    const parent = str(msg.parent_tool_use_id);
    const extra = parent ? { parentToolUseId: parent } : {};
    const events: NormalizedEvent[] = [];
    for (const block of list(m?.content)) {
      const b = obj(block);
      const type = str(b?.type);
      if (!b) continue;
      if (type === 'text' && errorKind) {
        // An API error Claude reports in place of an answer (`is_api_error_message`); the result repeats its text.
        const status = num(msg.api_error_status);
        assistantError = { kind: errorKind, text: str(b.text) ?? errorKind, ...(status !== undefined ? { status } : {}) };
        st.noteError(`${errorKind}: ${assistantError.text}`);
        events.push(ev('error', line, assistantError.text, { error: errorKind, apiErrorStatus: status, ...extra }));
      } else if (type === 'text') {
        events.push(ev('text', line, str(b.text) ?? '', parent ? extra : undefined));
      } else if (type === 'thinking') {
        events.push(ev('thinking', line, str(b.thinking) ?? '', parent ? extra : undefined));
      } else if (type === 'tool_use') {
        const name = str(b.name) ?? 'tool';
        events.push(toolCallEvent(line, name, b.input, { id: str(b.id), ...extra }));
      }
    }
    const model = str(m?.model);
    if (model && model !== '<synthetic>') f.model ??= model;
    const id = str(m?.id);
    const u = obj(m?.usage);
    if (id && u && !result) {
      const before = f.usage ? totalTokens(f.usage) : -1;
      usageByMessage.set(id, claudeUsage(u));
      f.usage = [...usageByMessage.values()].reduce<TokenUsage | undefined>(addUsage, undefined);
      if (f.usage && totalTokens(f.usage) !== before) events.push(usageEvent(line, f));
    }
    return events.length > 0 ? events : [ev('status', line, 'assistant message')];
  }

  function user(msg: Json, line: string): NormalizedEvent[] {
    const events: NormalizedEvent[] = [];
    for (const block of list(obj(msg.message)?.content)) {
      const b = obj(block);
      if (str(b?.type) !== 'tool_result' || !b) continue;
      events.push(toolResultEvent(line, contentText(b.content), { id: str(b.tool_use_id), isError: b.is_error === true }));
    }
    return events.length > 0 ? events : [ev('status', line, 'user message')];
  }

  function final(msg: Json, line: string): NormalizedEvent[] {
    result = msg;
    f.sawFinal = true;
    f.sessionId = str(msg.session_id) ?? f.sessionId;
    const text = str(msg.result);
    if (text !== undefined) f.resultText = text;
    const cost = runCost(msg);
    if (cost !== undefined) f.costUsd = cost;
    const u = obj(msg.usage);
    if (u) f.usage = claudeUsage(u);
    const subtype = str(msg.subtype) ?? 'unknown';
    const isError = msg.is_error === true || subtype !== 'success';
    if (isError) st.noteError(errorText(msg));
    const data = {
      subtype,
      isError,
      numTurns: num(msg.num_turns),
      durationMs: num(msg.duration_ms),
      costUsd: cost,
      terminalReason: str(msg.terminal_reason),
      apiErrorStatus: num(msg.api_error_status),
      sessionId: f.sessionId,
    };
    const events = u || cost !== undefined ? [usageEvent(line, f)] : [];
    events.push(ev('result', line, isError ? errorText(msg) : (text ?? ''), data));
    return events;
  }

  function rateLimit(msg: Json, line: string): NormalizedEvent[] {
    const info = obj(msg.rate_limit_info);
    const status = str(info?.status) ?? 'unknown';
    const resets = num(info?.resetsAt);
    const at = resets !== undefined ? new Date(resets < 1e12 ? resets * 1000 : resets).toISOString() : undefined;
    if (status === 'rejected' && at) limitResetAt = at;
    return [ev('status', line, `rate limit ${status}${at ? `, resets ${at}` : ''}`, { rateLimit: info })];
  }

  function handle(msg: Json, type: string, line: string): NormalizedEvent[] {
    if (type === 'system') return system(msg, line);
    if (type === 'assistant') return assistant(msg, line);
    if (type === 'user') return user(msg, line);
    if (type === 'result') return final(msg, line);
    if (type === 'rate_limit_event') return rateLimit(msg, line);
    return [ev('status', line, type, { type })];
  }

  return createJsonLineParser(st, handle, (exit): Outcome => {
    if (!result) return missingFinal(st, exit);
    const subtype = str(result.subtype) ?? 'unknown';
    if (result.is_error !== true && subtype === 'success') return completed(f.resultText);
    const text = [errorText(result), assistantError?.text].filter(Boolean).join('\n');
    const status = num(result.api_error_status) ?? assistantError?.status;
    const what = subtype === 'success' ? 'API error' : subtype;
    const reason = `${what}${status ? ` ${status}` : ''}: ${text.split('\n')[0] || 'reported an error'}`;
    const byText = classifyText(text);
    const byReason = str(result.terminal_reason) === 'prompt_too_long' ? 'context_overflow' : undefined;
    const hint: FailureHint = byText.failureClass
      ? byText
      : { failureClass: byReason ?? classifyStatus(status) ?? (assistantError ? ASSISTANT_ERROR_CLASS[assistantError.kind] : undefined) ?? 'agent_error' };
    if (hint.failureClass === 'rate_limited' && !hint.retryAt && limitResetAt) hint.retryAt = limitResetAt;
    return failedOutcome(reason, hint);
  });
}

/**
 * The cost of this run. On a resumed session `total_cost_usd` (and `modelUsage`)
 * include the earlier runs (recorded with 2.1.332), while
 * `model_usage_since_last_result` covers this process only.
 */
function runCost(msg: Json): number | undefined {
  const perModel = obj(msg.model_usage_since_last_result);
  if (perModel) {
    const costs = Object.values(perModel).map((m) => num(obj(m)?.costUSD));
    if (costs.length > 0 && costs.every((c) => c !== undefined)) return costs.reduce<number>((a, c) => a + (c ?? 0), 0);
  }
  return num(msg.total_cost_usd);
}

/** What an error result says: its `result` text, else its `errors` list (error_during_execution has no result text). */
function errorText(msg: Json): string {
  const text = str(msg.result);
  if (text) return text;
  const errors = list(msg.errors).map((e) => (typeof e === 'string' ? e : (str(obj(e)?.message) ?? JSON.stringify(e))));
  return errors.join('\n') || (str(msg.subtype) ?? 'error');
}

export const claudeCode: AgentAdapter = {
  name: 'claude-code',
  defaultBinary: 'claude',
  envPassthrough: ['ANTHROPIC_', 'CLAUDE_'],
  acceptsMcpConfig: true,
  supportsResume: true,
  versionArgs: ['--version'],
  // `2.1.332 (Claude Code)`
  parseVersion: (output) => /(\d+\.\d+\.\d+\S*)\s*\(Claude Code\)/.exec(output)?.[1] ?? parseSemver(output),
  buildInvocation,
  createParser,
};

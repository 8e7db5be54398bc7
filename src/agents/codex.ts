/**
 * Codex (`codex exec --json`, npm `@openai/codex`).
 *
 * The prompt goes on stdin (`-` as the prompt argument): codex reads it to the
 * end, so the text never meets clap (a prompt starting with `--` stays a
 * prompt) and is not bound by the 128 KiB argv limit.
 *
 * Each task gets its own CODEX_HOME under `sessionDir`: runs never share
 * config, auth or session files with other tasks or the operator's own codex,
 * and a resumed run finds the thread the first run recorded there.
 */
import { join } from 'node:path';
import {
  completed,
  contentText,
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
import type { AgentAdapter, Invocation, LineParser, NormalizedEvent, Outcome, RunSpec, TokenUsage } from './types.js';

function buildInvocation(spec: RunSpec): Invocation {
  const codexHome = join(spec.sessionDir ?? spec.scratchDir, 'codex-home');
  // `--sandbox` and `--cd` belong to `exec` (not to `exec resume`), so they come before the subcommand.
  // The workspace-write sandbox also blocks the network; the agent's `switchyard ask`
  // and `progress` must reach the server (seen with codex 0.169: EPERM on 127.0.0.1).
  const args = ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', '-c', 'sandbox_workspace_write.network_access=true', `--cd=${spec.workdir}`];
  if (spec.model) args.push(`--model=${spec.model}`);
  args.push(...(spec.extraArgs ?? []));
  if (spec.resumeSessionId) args.push('resume', '--', spec.resumeSessionId, '-');
  else args.push('-');
  return { args, stdin: spec.prompt, env: { CODEX_HOME: codexHome }, ensureDirs: [codexHome] };
}

/** Codex counts cached tokens inside `input_tokens` (the OpenAI convention); TokenUsage keeps them apart. */
function codexUsage(u: Json): TokenUsage {
  const cached = num(u.cached_input_tokens) ?? 0;
  const written = num(u.cache_write_input_tokens) ?? 0;
  return usageOf((num(u.input_tokens) ?? 0) - cached - written, num(u.output_tokens) ?? 0, cached, written);
}

/** The tool an item stands for, as a name and an input. */
function toolOf(item: Json): { name: string; input: unknown } {
  const type = str(item.type) ?? 'item';
  if (type === 'command_execution') return { name: 'shell', input: { command: str(item.command) } };
  if (type === 'file_change') return { name: 'file_change', input: { changes: item.changes } };
  if (type === 'web_search') return { name: 'web_search', input: { query: str(item.query) } };
  if (type === 'mcp_tool_call') {
    const name = [str(item.server), str(item.tool)].filter(Boolean).join('.') || 'mcp';
    return { name, input: item.arguments };
  }
  const { id: _id, type: _type, status: _status, ...rest } = item;
  return { name: type, input: rest };
}

function toolResultOf(item: Json): { output: string; isError: boolean; exitCode?: number } {
  const type = str(item.type);
  const failed = ['failed', 'declined'].includes(str(item.status) ?? '');
  if (type === 'command_execution') {
    const exitCode = num(item.exit_code);
    return { output: str(item.aggregated_output) ?? '', isError: failed || (exitCode !== undefined && exitCode !== 0), ...(exitCode !== undefined ? { exitCode } : {}) };
  }
  if (type === 'file_change') {
    const changes = list(item.changes).map((c) => `${str(obj(c)?.kind) ?? 'change'} ${str(obj(c)?.path) ?? '?'}`);
    return { output: changes.join('\n'), isError: failed };
  }
  if (type === 'mcp_tool_call') {
    const error = str(obj(item.error)?.message) ?? str(item.error);
    const result = obj(item.result);
    return { output: error ?? contentText(result?.content ?? result), isError: failed || error !== undefined };
  }
  return { output: '', isError: failed };
}

function createParser(): LineParser {
  const st = createRunState();
  const f = st.facts;
  const announced = new Set<string>();
  let final: { ok: true } | { ok: false; message: string } | undefined;

  function toolItem(phase: string, item: Json, line: string): NormalizedEvent[] {
    const id = str(item.id) ?? '';
    const events: NormalizedEvent[] = [];
    if (!announced.has(id)) {
      announced.add(id);
      const { name, input } = toolOf(item);
      events.push(toolCallEvent(line, name, input, { id }));
    }
    if (phase === 'completed') {
      const { output, ...rest } = toolResultOf(item);
      events.push(toolResultEvent(line, output, { id, name: toolOf(item).name, ...rest }));
    }
    return events.length > 0 ? events : [ev('status', line, `${str(item.type) ?? 'item'} ${phase}`, { id })];
  }

  function onItem(phase: string, item: Json, line: string): NormalizedEvent[] {
    const type = str(item.type);
    const id = str(item.id);
    if (type === 'agent_message' || type === 'reasoning') {
      if (phase !== 'completed') return [ev('status', line, `${type} ${phase}`, { id })];
      const text = str(item.text) ?? '';
      if (type === 'reasoning') return [ev('thinking', line, text, { id })];
      f.resultText = text;
      return [ev('text', line, text, { id })];
    }
    // Error items are warnings (an unknown model's metadata, …); a failed turn arrives as `turn.failed`.
    if (type === 'error') return [ev('status', line, `warning: ${str(item.message) ?? ''}`, { severity: 'warning', message: str(item.message) })];
    if (type === 'todo_list') {
      const items = list(item.items).map((t) => `${obj(t)?.completed === true ? '[x]' : '[ ]'} ${str(obj(t)?.text) ?? ''}`);
      return [ev('status', line, `plan:\n${items.join('\n')}`, { id, items: item.items })];
    }
    return toolItem(phase, item, line);
  }

  function handle(msg: Json, type: string, line: string): NormalizedEvent[] {
    if (type === 'thread.started') {
      f.sessionId = str(msg.thread_id) ?? f.sessionId;
      return [ev('status', line, `thread ${f.sessionId ?? '?'}`, { sessionId: f.sessionId })];
    }
    if (type.startsWith('item.')) {
      const item = obj(msg.item);
      return item ? onItem(type.slice(5), item, line) : [ev('status', line, type)];
    }
    if (type === 'turn.completed') {
      final = { ok: true };
      f.sawFinal = true;
      // The usage is the thread's total so far, not the turn's: on a resumed thread it includes earlier runs.
      const u = obj(msg.usage);
      if (u) f.usage = codexUsage(u);
      return [usageEvent(line, f), ev('result', line, f.resultText ?? '', { isError: false })];
    }
    if (type === 'turn.failed') {
      const message = str(obj(msg.error)?.message) ?? str(msg.error) ?? 'turn failed';
      final = { ok: false, message };
      f.sawFinal = true;
      st.noteError(message);
      return [ev('error', line, message), ev('result', line, message, { isError: true })];
    }
    if (type === 'error') {
      const message = str(msg.message) ?? '';
      // Codex retries a dropped stream itself and says so as an `error`; only the last word counts.
      if (/^Reconnecting\b/i.test(message)) return [ev('status', line, message, { severity: 'warning', message })];
      st.noteError(message);
      return [ev('error', line, message)];
    }
    return [ev('status', line, type, { type })];
  }

  return createJsonLineParser(st, handle, (exit): Outcome => {
    if (!final) return missingFinal(st, exit);
    if (final.ok) return completed(f.resultText);
    return finalError(st, `turn failed: ${final.message}`);
  });
}

export const codex: AgentAdapter = {
  name: 'codex',
  defaultBinary: 'codex',
  envPassthrough: ['OPENAI_', 'CODEX_'],
  supportsResume: true,
  versionArgs: ['--version'],
  // `codex-cli 0.169.0`, possibly after a WARNING line
  parseVersion: (output) => /codex-cli\s+v?(\d[^\s]*)/.exec(output)?.[1] ?? parseSemver(output),
  buildInvocation,
  createParser,
};

/** `switchyard task create|list|show|cancel|retry|answer|logs`. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CreateTaskBody, Task, TaskEvent, TaskGroup, TaskRun } from '../../core/api.js';
import { isTerminal } from '../../core/taskState.js';
import { UsageError } from '../errors.js';
import { ago, printJson, printTable } from '../output.js';
import { clientFrom, intOption, listOption, withConnection, type ClientFlags } from './common.js';
import { registerTaskRun } from './taskRun.js';

export interface CreateFlags extends ClientFlags {
  agent?: string;
  priority?: string;
  model?: string;
  maxAttempts?: string;
  metadata?: string;
  promptFile?: string;
  tokenBudget?: string;
  repo?: string;
  baseRef?: string;
}

/** Adds the options of `task create` (shared with `task run`). */
export function createOptions(cmd: Command): Command {
  return withConnection(cmd)
    .requiredOption('--agent <name>', 'agent to run (claude-code, codex, gemini, … or a command agent from the config); several comma-separated agents make a comparison group')
    .option('--priority <n>', 'higher runs first (default 0)')
    .option('--model <model>', 'model for the agent (default: the agent\'s default_model)')
    .option('--max-attempts <n>', 'attempts before the task fails for good (default 3)')
    .option('--metadata <json>', 'JSON object stored with the task')
    .option('--prompt-file <file>', 'read the prompt from a file')
    .option('--token-budget <n>', 'stop the run when it has used this many tokens')
    .option('--repo <path-or-url>', 'git repository to work in')
    .option('--base-ref <ref>', 'branch or commit to start from')
    .option('--json', 'print JSON');
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    throw new UsageError('could not read the prompt from stdin');
  }
}

export function createBody(prompt: string | undefined, f: CreateFlags): CreateTaskBody {
  let text = prompt;
  if (f.promptFile) {
    if (prompt) throw new UsageError('give the prompt as an argument or with --prompt-file, not both');
    try {
      text = readFileSync(f.promptFile, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --prompt-file ${f.promptFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else if (prompt === '-') {
    text = readStdin();
  }
  if (!text || !text.trim()) throw new UsageError('the prompt is empty: give it as an argument, with --prompt-file FILE, or as - to read stdin');
  let metadata: Record<string, unknown> | undefined;
  if (f.metadata) {
    try {
      metadata = JSON.parse(f.metadata) as Record<string, unknown>;
    } catch {
      throw new UsageError('--metadata must be a JSON object, e.g. --metadata \'{"ticket":"ENG-42"}\'');
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new UsageError('--metadata must be a JSON object');
  }
  const agents = listOption(f.agent) ?? [];
  if (agents.length === 0) throw new UsageError('--agent names the agent to run (several, comma-separated, for a comparison group)');
  const body: CreateTaskBody = agents.length > 1 ? { agents, prompt: text } : { assignedAgent: agents[0]!, prompt: text };
  const priority = intOption('--priority', f.priority);
  if (priority !== undefined) body.priority = priority;
  const maxAttempts = intOption('--max-attempts', f.maxAttempts);
  if (maxAttempts !== undefined) body.maxAttempts = maxAttempts;
  const budget = intOption('--token-budget', f.tokenBudget);
  if (budget !== undefined) body.tokenBudget = budget;
  if (f.model) body.model = f.model;
  if (metadata) body.metadata = metadata;
  if (f.repo) body.repo = f.repo;
  if (f.baseRef) body.baseRef = f.baseRef;
  return body;
}

export function formatEvent(e: TaskEvent, raw = false): string {
  if (raw) return e.raw;
  const prefix = e.stream === 'stderr' ? '! ' : '';
  switch (e.kind) {
    case 'tool_call':
      return `→ ${e.text ?? e.raw}`;
    case 'tool_result':
      return `← ${(e.text ?? e.raw).split('\n')[0]}`;
    case 'error':
      return `✗ ${e.text ?? e.raw}`;
    case 'thinking':
      return `… ${e.text ?? ''}`;
    case 'usage':
      return `[usage] ${e.text ?? e.raw}`;
    default:
      return `${prefix}${e.text ?? e.raw}`;
  }
}

function showTask(t: Task, runs: TaskRun[]): void {
  const lines = [
    `${t.id}  ${t.status.toUpperCase()}${t.cancelRequested ? ' (cancel requested)' : ''}`,
    `  workspace   ${t.workspaceId}`,
    `  agent       ${t.assignedAgent}${t.model ? ` (${t.model})` : ''}`,
    `  priority    ${t.priority}`,
    `  attempt     ${t.attempt} of ${t.maxAttempts}`,
    `  created     ${t.createdAt} (${ago(t.createdAt)})`,
  ];
  if (t.statusReason) lines.push(`  reason      ${t.statusReason}`);
  if (t.question) lines.push(`  question    ${t.question}`);
  if (t.answer) lines.push(`  answer      ${t.answer}`);
  if (t.runAfter && t.status !== 'completed') lines.push(`  run after   ${t.runAfter}`);
  lines.push(`  prompt      ${t.prompt.length > 300 ? `${t.prompt.slice(0, 300)}…` : t.prompt}`.replace(/\n/g, '\n              '));
  if (t.resultText) lines.push(`  result      ${t.resultText.length > 500 ? `${t.resultText.slice(0, 500)}…` : t.resultText}`.replace(/\n/g, '\n              '));
  if (t.suggestions.length) lines.push(`  suggested   ${t.suggestions.map((s) => `${s.name} (${s.score.toFixed(2)})`).join(', ')}`);
  if (t.actions.length) lines.push(`  can         ${t.actions.join(', ')}`);
  for (const r of runs) {
    const usage = r.usage as { inputTokens?: number; outputTokens?: number } | null;
    const tokens = usage ? `, ${usage.inputTokens ?? 0} in / ${usage.outputTokens ?? 0} out tokens` : '';
    const cost = r.costUsd !== null ? `, $${r.costUsd.toFixed(4)}` : '';
    const took = r.durationMs !== null ? `${(r.durationMs / 1000).toFixed(1)} s` : 'running';
    lines.push(`  run ${r.attempt}       ${r.status} on ${r.daemonId?.slice(0, 8) ?? '?'} (${took}${tokens}${cost})${r.failureClass ? ` — ${r.failureClass}: ${r.failureReason ?? ''}` : ''}`);
  }
  if (t.timeline?.length) {
    lines.push('  timeline');
    for (const s of t.timeline) lines.push(`    ${s.at}  ${s.from ?? '·'} → ${s.to}  (${s.actor}${s.reason ? `: ${s.reason}` : ''})`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerTask(program: Command): void {
  const task = program.command('task').description('create and follow tasks');
  registerTaskRun(task);

  createOptions(task.command('create [prompt]').description('queue a task (prompt as argument, --prompt-file, or - for stdin)')).action(async (prompt: string | undefined, f: CreateFlags) => {
    const body = createBody(prompt, f);
    const client = clientFrom(f);
    if (body.agents) {
      const g = await client.tasks.createGroup({ ...body, agents: body.agents, assignedAgent: undefined });
      if (f.json) return printJson(g);
      process.stdout.write(`${g.id}\n`);
      process.stderr.write(`comparison group of ${g.tasks.length} tasks (${g.tasks.map((t) => `${t.assignedAgent} ${t.id}`).join(', ')}). Compare them with: switchyard task compare ${g.id}\n`);
      return;
    }
    const t = await client.tasks.create({ ...body, assignedAgent: body.assignedAgent!, agents: undefined });
    if (f.json) return printJson(t);
    process.stdout.write(`${t.id}\n`);
    process.stderr.write(`queued in ${t.workspaceId} for ${t.assignedAgent}${t.statusReason ? ` — note: ${t.statusReason}` : ''}. Follow it with: switchyard task logs --follow ${t.id}\n`);
  });

  withConnection(task.command('list').description('list tasks, newest first'))
    .option('--status <list>', 'comma-separated states (queued,claimed,executing,completed,failed,blocked,cancelled)')
    .option('--agent <name>', 'only this agent')
    .option('--limit <n>', 'how many (default 50, max 500)')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(async (f: ClientFlags & { status?: string; agent?: string; limit?: string; cursor?: string }) => {
      const page = await clientFrom(f).tasks.list({ status: f.status, agent: f.agent, limit: intOption('--limit', f.limit), cursor: f.cursor });
      if (f.json) return printJson(page);
      printTable(
        page.items.map((t) => ({ ...t, id: t.id, created: ago(t.createdAt), prompt: t.prompt.split('\n')[0], status: t.statusReason && t.status === 'queued' ? `queued (${t.statusReason})` : t.status })),
        [
          { key: 'id', title: 'id' },
          { key: 'status', title: 'status', max: 50 },
          { key: 'assignedAgent', title: 'agent' },
          { key: 'priority', title: 'prio' },
          { key: 'attempt', title: 'try' },
          { key: 'created', title: 'created' },
          { key: 'prompt', title: 'prompt', max: 50 },
        ],
        'No tasks yet. Create one with: switchyard task create --agent <agent> "<prompt>"',
      );
      if (page.nextCursor) process.stderr.write(`more: --cursor ${page.nextCursor}\n`);
    });

  withConnection(task.command('show <id>').description('show a task, its attempts and timeline'))
    .option('--json', 'print JSON')
    .action(async (id: string, f: ClientFlags) => {
      const client = clientFrom(f);
      const [t, runs] = await Promise.all([client.tasks.get(id), client.tasks.runs(id)]);
      if (f.json) return printJson({ ...t, runs: runs.items });
      showTask(t, runs.items);
    });

  withConnection(task.command('compare <group>').description('compare the tasks of a comparison group side by side'))
    .option('--json', 'print JSON')
    .action(async (groupId: string, f: ClientFlags) => {
      const g = await clientFrom(f).tasks.group(groupId);
      if (f.json) return printJson(g);
      process.stdout.write(`group ${g.id}: ${g.prompt.split('\n')[0]!.slice(0, 100)}\n\n`);
      printTable(g.tasks.map(compareRow), COMPARE_COLUMNS, 'The group has no tasks.');
      for (const t of g.tasks) {
        if (!t.resultText) continue;
        process.stdout.write(`\n— ${t.assignedAgent} (${t.id}):\n${t.resultText.length > 1500 ? `${t.resultText.slice(0, 1500)}…` : t.resultText}\n`);
      }
    });

  withConnection(task.command('cancel <id>').description('cancel a task (a running one is stopped first)'))
    .option('--reason <text>', 'why')
    .option('--json', 'print JSON')
    .action(async (id: string, f: ClientFlags & { reason?: string }) => {
      const client = clientFrom(f);
      let t = await client.tasks.cancel(id, f.reason);
      if (t.status === 'executing') {
        process.stderr.write('stopping the agent…\n');
        for await (const item of client.tasks.follow(id, { afterSeq: 2 ** 31 - 1 })) if (item.type === 'task') t = item.task;
      }
      if (f.json) return printJson(t);
      process.stdout.write(`${t.id} ${t.status}\n`);
    });

  withConnection(task.command('retry <id>').description('re-queue a failed task'))
    .option('--json', 'print JSON')
    .action(async (id: string, f: ClientFlags) => {
      const t = await clientFrom(f).tasks.retry(id);
      if (f.json) return printJson(t);
      process.stdout.write(`${t.id} re-queued (attempt ${t.attempt} of ${t.maxAttempts} was the last)\n`);
    });

  withConnection(task.command('answer <id> <answer>').description('answer a blocked task\'s question; it resumes'))
    .option('--json', 'print JSON')
    .action(async (id: string, answer: string, f: ClientFlags) => {
      const t = await clientFrom(f).tasks.answer(id, answer);
      if (f.json) return printJson(t);
      process.stdout.write(`${t.id} ${t.status}\n`);
    });

  withConnection(task.command('logs <id>').description('print the transcript; --follow streams it live until the task settles'))
    .option('-f, --follow', 'keep streaming until the task is done')
    .option('--after <seq>', 'start after this seq', '0')
    .option('--raw', 'print the agent\'s raw output lines')
    .option('--json', 'print events as JSON lines')
    .action(async (id: string, f: ClientFlags & { follow?: boolean; after?: string; raw?: boolean }) => {
      const client = clientFrom(f);
      const print = (e: TaskEvent) => process.stdout.write(`${f.json ? JSON.stringify(e) : formatEvent(e, f.raw)}\n`);
      const after = intOption('--after', f.after) ?? 0;
      if (!f.follow) {
        let next: number | null = after;
        while (next !== null) {
          const page = await client.tasks.events(id, next, 1000);
          page.items.forEach(print);
          next = page.next;
        }
        return;
      }
      let last: Task | undefined;
      for await (const item of client.tasks.follow(id, { afterSeq: after })) {
        if (item.type === 'event') print(item.event);
        else if (item.type === 'task') last = item.task;
        else process.stderr.write(`(connection lost: ${item.error}; reconnecting, attempt ${item.attempt})\n`);
      }
      if (last && !f.json) process.stderr.write(`— ${last.status}${last.statusReason ? `: ${last.statusReason}` : ''}\n`);
      if (last && isTerminal(last.status) && last.status !== 'completed') process.exitCode = 1;
    });
}

type GroupTask = TaskGroup['tasks'][number];

const COMPARE_COLUMNS = [
  { key: 'agent', title: 'agent' },
  { key: 'status', title: 'outcome' },
  { key: 'time', title: 'time' },
  { key: 'tokens', title: 'tokens in/out' },
  { key: 'cost', title: 'cost' },
  { key: 'diff', title: 'diff' },
  { key: 'answer', title: 'final answer', max: 60 },
];

export function compareRow(t: GroupTask): Record<string, unknown> {
  const r = t.latestRun;
  const usage = r?.usage as { inputTokens?: number; outputTokens?: number } | null | undefined;
  const diff = r?.diff as { files?: unknown[]; insertions?: number; deletions?: number } | null | undefined;
  return {
    agent: t.assignedAgent,
    status: r?.failureClass ? `${t.status} (${r.failureClass})` : t.status,
    time: r?.durationMs != null ? `${(r.durationMs / 1000).toFixed(1)} s` : '-',
    tokens: usage ? `${usage.inputTokens ?? 0}/${usage.outputTokens ?? 0}` : '-',
    cost: r?.costUsd != null ? `$${r.costUsd.toFixed(4)}` : '-',
    diff: diff ? `${diff.files?.length ?? 0} files +${diff.insertions ?? 0} -${diff.deletions ?? 0}` : '-',
    answer: t.resultText?.split('\n')[0] ?? '-',
  };
}

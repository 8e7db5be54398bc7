/**
 * `switchyard failures`: the workspace's recurring failures, so a prompt or a
 * configuration that keeps failing shows up as one big group rather than as
 * many separate failed tasks. Through the typed client, like every command.
 */
import { Option, type Command } from 'commander';
import { FAILURE_GROUPINGS, type FailureGrouping, type FailurePattern, type FailurePatterns } from '../../core/api.js';
import { ago, printJson, printTable } from '../output.js';
import { clientFrom, intOption, withConnection, type ClientFlags } from './common.js';

interface FailuresFlags extends ClientFlags {
  since: string;
  groupBy: FailureGrouping;
  agent?: string;
  class?: string;
  limit?: string;
}

const KEY_TITLE: Record<FailureGrouping, string> = { class: 'class', agent: 'agent', model: 'model', prompt: 'prompt' };
/** What `top` counts: the other dimension. */
const TOP_TITLE: Record<FailureGrouping, string> = { class: 'agents', agent: 'classes', model: 'classes', prompt: 'classes' };

function row(p: FailurePattern, groupBy: FailureGrouping): Record<string, unknown> {
  return {
    // A prompt hash means nothing to a person: the prompt's first words do.
    key: groupBy === 'prompt' ? (p.promptExcerpt ?? p.key) : (p.key ?? '(none)'),
    count: p.count,
    tasks: p.tasks,
    last: ago(p.lastAt),
    top: p.top.map((t) => `${t.key ?? '(none)'} ${t.count}`).join(', '),
    latest: p.taskIds[0] ?? '-',
  };
}

function printPatterns(r: FailurePatterns, since: string): void {
  const window = since === r.since ? since : `${since} (${r.since})`;
  if (r.items.length === 0) {
    process.stdout.write(`No failed runs since ${window}.\n`);
    return;
  }
  const runs = r.totalFailures === 1 ? 'run' : 'runs';
  const groups = r.totalGroups === 1 ? 'group' : 'groups';
  process.stdout.write(`${r.totalFailures} failed ${runs} since ${window}, ${r.totalGroups} ${groups} by ${r.groupBy}\n\n`);
  printTable(
    r.items.map((p) => row(p, r.groupBy)),
    [
      { key: 'key', title: KEY_TITLE[r.groupBy], max: r.groupBy === 'prompt' ? 60 : 40 },
      { key: 'count', title: 'failures' },
      { key: 'tasks', title: 'tasks' },
      { key: 'last', title: 'last' },
      { key: 'top', title: TOP_TITLE[r.groupBy], max: 50 },
      { key: 'latest', title: 'latest task' },
    ],
    '',
  );
  if (r.totalGroups > r.items.length) process.stderr.write(`Showing ${r.items.length} of ${r.totalGroups} groups; --limit shows more.\n`);
  process.stderr.write('Open a task: switchyard task show <id>\n');
}

export function registerFailures(program: Command): void {
  withConnection(program.command('failures').description('recurring failures of the workspace: failed runs grouped by class, agent, model or prompt'))
    .option('--since <when>', 'a duration back from now (30m, 24h, 7d, 2w) or an ISO-8601 time', '7d')
    .addOption(new Option('--group-by <what>', 'group the failed runs by').choices(FAILURE_GROUPINGS).default('class'))
    .option('--agent <name>', 'only this agent\'s runs')
    .option('--class <class>', 'only failures of this class (auth, rate_limited, timeout_idle, …)')
    .option('--limit <n>', 'groups to show (1–100)', '20')
    .option('--json', 'print JSON')
    .action(async (f: FailuresFlags) => {
      const r = await clientFrom(f).failures.patterns({
        since: f.since,
        groupBy: f.groupBy,
        limit: intOption('--limit', f.limit),
        ...(f.agent ? { agent: f.agent } : {}),
        ...(f.class ? { class: f.class } : {}),
      });
      if (f.json) return printJson(r);
      printPatterns(r, f.since);
    });
}

/** `switchyard workspace create|list|show|update`. */
import type { Command } from 'commander';
import type { UpdateWorkspaceBody, Workspace } from '../../core/api.js';
import { printJson, printTable } from '../output.js';
import { clientFrom, intOption, listOption, withConnection, type ClientFlags } from './common.js';

interface WsFlags extends ClientFlags {
  name?: string;
  allowedAgents?: string;
  maxConcurrent?: string;
  skillRetentionDays?: string;
  audit?: boolean;
  allAgents?: boolean;
}

function fields(f: WsFlags): UpdateWorkspaceBody {
  const body: UpdateWorkspaceBody = {};
  if (f.name !== undefined) body.name = f.name;
  if (f.allAgents) body.allowedAgents = null;
  else if (f.allowedAgents !== undefined) body.allowedAgents = listOption(f.allowedAgents) ?? [];
  const max = intOption('--max-concurrent', f.maxConcurrent);
  if (max !== undefined) body.maxConcurrentTasks = max;
  const days = intOption('--skill-retention-days', f.skillRetentionDays);
  if (days !== undefined) body.skillRetentionDays = days;
  if (f.audit !== undefined) body.auditLogEnabled = f.audit;
  return body;
}

function show(w: Workspace): void {
  const lines = [
    `${w.id}  ${w.name}`,
    `  allowed agents   ${w.allowedAgents ? w.allowedAgents.join(', ') || '(none)' : 'all'}`,
    `  max concurrent   ${w.maxConcurrentTasks}`,
    `  skill retention  ${w.skillRetentionDays} days`,
    `  audit log        ${w.auditLogEnabled ? 'on' : 'off'}`,
    `  created          ${w.createdAt}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerWorkspace(program: Command): void {
  const ws = program.command('workspace').description('manage workspaces');
  const common = (c: Command) =>
    withConnection(c)
      .option('--name <name>', 'display name')
      .option('--allowed-agents <list>', 'comma-separated agents the workspace may use')
      .option('--all-agents', 'allow every agent')
      .option('--max-concurrent <n>', 'tasks running at once')
      .option('--skill-retention-days <n>', 'archive skills unused this long')
      .option('--audit', 'turn the audit log on')
      .option('--no-audit', 'turn the audit log off')
      .option('--json', 'print JSON');

  common(ws.command('create <id>').description('create a workspace (instance admin)')).action(async (id: string, f: WsFlags) => {
    const w = await clientFrom(f).workspaces.create({ id, ...fields(f) });
    if (f.json) printJson(w);
    else show(w);
  });

  common(ws.command('update <id>').description('change a workspace')).action(async (id: string, f: WsFlags) => {
    const w = await clientFrom(f).workspaces.update(id, fields(f));
    if (f.json) printJson(w);
    else show(w);
  });

  withConnection(ws.command('list').description('list workspaces'))
    .option('--json', 'print JSON')
    .action(async (f: ClientFlags) => {
      const { items } = await clientFrom(f).workspaces.list();
      if (f.json) return printJson(items);
      printTable(
        items.map((w) => ({ ...w, agents: w.allowedAgents ? w.allowedAgents.join(',') : 'all', audit: w.auditLogEnabled ? 'on' : 'off' })),
        [
          { key: 'id', title: 'id' },
          { key: 'name', title: 'name' },
          { key: 'agents', title: 'agents' },
          { key: 'maxConcurrentTasks', title: 'max concurrent' },
          { key: 'audit', title: 'audit' },
        ],
        'No workspaces.',
      );
    });

  withConnection(ws.command('show <id>').description('show a workspace'))
    .option('--json', 'print JSON')
    .action(async (id: string, f: ClientFlags) => {
      const w = await clientFrom(f).workspaces.get(id);
      if (f.json) printJson(w);
      else show(w);
    });
}

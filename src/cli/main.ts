/**
 * The `switchyard` command. Exit codes: 0 success; 1 the thing failed (a
 * task failed, a check found a problem, the server refused); 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { ApiError, UnreachableError } from '../client/index.js';
import { ConfigError, SwitchyardError } from '../core/errors.js';
import { registerAgentTools } from './commands/agentTools.js';
import { registerAudit } from './commands/audit.js';
import { registerConfig } from './commands/config.js';
import { registerDaemon } from './commands/daemon.js';
import { registerFailures } from './commands/failures.js';
import { registerMaintenance } from './commands/maintenance.js';
import { registerServe } from './commands/serve.js';
import { registerSkill } from './commands/skill.js';
import { registerTask } from './commands/task.js';
import { registerToken } from './commands/token.js';
import { registerWebhook } from './commands/webhook.js';
import { registerWorkspace } from './commands/workspace.js';
import { UsageError } from './errors.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('switchyard')
    .description('Run coding-agent CLIs as a managed team: tasks, runtimes, live transcripts.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    // Options after a subcommand belong to it (`daemon doctor --config` is doctor's).
    .enablePositionalOptions()
    .exitOverride();
  registerServe(program);
  registerDaemon(program);
  registerConfig(program);
  registerWorkspace(program);
  registerToken(program);
  registerTask(program);
  registerSkill(program);
  registerAgentTools(program);
  registerMaintenance(program);
  registerWebhook(program);
  registerAudit(program);
  registerFailures(program);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

function report(err: unknown, usageCode = 2): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return usageCode; // commander already printed the message
  }
  if (err instanceof UsageError) {
    process.stderr.write(`switchyard: ${err.message}\n`);
    return 2;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`switchyard: ${err.message}:\n`);
    for (const d of err.details) process.stderr.write(`  ${d.path}: ${d.message}\n`);
    process.stderr.write('Check it with: switchyard config check --config <file>\n');
    return 2;
  }
  if (err instanceof UnreachableError) {
    process.stderr.write(`switchyard: ${err.message}. Is it running? Start one with \`switchyard up\`, or check --url / SWITCHYARD_URL.\n`);
    return 1;
  }
  if (err instanceof ApiError) {
    const details = Array.isArray(err.details) ? (err.details as { path?: string; message?: string }[]).map((d) => `\n  ${d.path ?? ''}: ${d.message ?? ''}`).join('') : '';
    const hint = err.status === 401 ? '\nCheck --token / SWITCHYARD_TOKEN (the local admin token is in ~/.switchyard/admin-token).' : '';
    process.stderr.write(`switchyard: ${err.message} (HTTP ${err.status} ${err.code})${details}${hint}\n`);
    return err.status === 400 || err.status === 422 ? 2 : 1;
  }
  if (err instanceof SwitchyardError) {
    process.stderr.write(`switchyard: ${err.message}\n`);
    return 1;
  }
  const e = err as Error;
  process.stderr.write(`switchyard: ${e.message ?? String(err)}\n`);
  if (process.env.SWITCHYARD_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
  return 1;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // `task run` promises pipelines exit 4 for any input it refuses.
    const taskRun = argv[2] === 'task' && argv[3] === 'run';
    process.exitCode = report(err, taskRun ? 4 : 2);
  }
}

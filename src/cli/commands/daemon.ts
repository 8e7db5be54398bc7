/** `switchyard daemon` (a runtime for any machine) and `switchyard daemon doctor`. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { createLogger, dataDirFrom, loadConfig } from '../env.js';
import { UsageError } from '../errors.js';
import { printJson, printTable } from '../output.js';
import { VERSION } from '../version.js';

interface DaemonFlags {
  url?: string;
  token?: string;
  config?: string;
  stateDir?: string;
  dataDir?: string;
  name?: string;
}

export function registerDaemon(program: Command): void {
  const daemon = program
    .command('daemon')
    .description('run a runtime that takes tasks from a server and runs agent CLIs on this machine')
    .option('--url <url>', 'server URL (or SWITCHYARD_URL)')
    .option('--token <token>', 'daemon token (or SWITCHYARD_TOKEN); create one with `switchyard token create --role daemon`')
    .option('--config <file>', 'configuration file (agents, limits)')
    .option('--state-dir <dir>', 'where the daemon keeps its id, outbox and run folders (default <data dir>/daemon)')
    .option('--data-dir <dir>', 'data folder (default $SWITCHYARD_HOME or ~/.switchyard)')
    .option('--name <name>', 'name shown in the dashboard (default: host name)')
    .action(async (flags: DaemonFlags) => {
      const url = flags.url ?? process.env.SWITCHYARD_URL;
      const token = flags.token ?? process.env.SWITCHYARD_TOKEN;
      if (!url) throw new UsageError('the daemon needs the server URL: --url http://host:8080 (or SWITCHYARD_URL)');
      if (!token) throw new UsageError('the daemon needs a daemon token: --token … (or SWITCHYARD_TOKEN); create one with `switchyard token create --role daemon`');
      const { config } = loadConfig(flags.config);
      const log = createLogger();
      const stateDir = flags.stateDir ?? join(dataDirFrom(flags.dataDir), 'daemon');
      const { startDaemon } = await import('../../daemon/index.js');
      const d = await startDaemon({ url, token, config, stateDir, log, version: VERSION, ...(flags.name ? { name: flags.name } : {}) });
      await new Promise<void>((resolve) => {
        const stop = () => void d.stop().finally(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  daemon
    .command('doctor')
    .description('check every agent this daemon would offer: found, executable, answers --version')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print JSON')
    .action(async (flags: { config?: string; json?: boolean }) => {
      const { config } = loadConfig(flags.config);
      const { checkAgents } = await import('../../daemon/index.js');
      const checks = (await checkAgents(config)).map((c) => c.check);
      if (flags.json) printJson({ agents: checks });
      else {
        printTable(
          checks.map((c) => ({ ...c, status: c.status === 'ok' ? 'ok' : c.status.toUpperCase() })),
          [
            { key: 'name', title: 'agent' },
            { key: 'status', title: 'status' },
            { key: 'version', title: 'version' },
            { key: 'binary', title: 'binary', max: 80 },
            { key: 'reason', title: 'problem', max: 100 },
          ],
          'No agents: none is configured and none of claude, codex, gemini, cursor-agent, opencode is on PATH.',
        );
      }
      if (checks.some((c) => c.status !== 'ok')) process.exitCode = 1;
    });
}

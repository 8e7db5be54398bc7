/** `switchyard up` and `switchyard serve`. */
import type { Command } from 'commander';
import { dataDirFrom, createLogger, loadConfig } from '../env.js';
import type { Stack } from '../stack.js';

interface ServeFlags {
  config?: string;
  dataDir?: string;
  port?: string;
  host?: string;
  daemon?: boolean;
}

export function registerServe(program: Command): void {
  program
    .command('up')
    .description('start the server, a local daemon and the dashboard (embedded database unless configured otherwise)')
    .option('--config <file>', 'configuration file (agent-orchestrator.config.yaml layout)')
    .option('--data-dir <dir>', 'data folder (default $SWITCHYARD_HOME or ~/.switchyard)')
    .option('--port <port>', 'port to listen on (default orchestrator.runtime.daemon_port, 8080)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--no-daemon', 'do not start the local daemon')
    .action((flags: ServeFlags) => serve(flags, flags.daemon !== false));

  program
    .command('serve')
    .description('start the server and dashboard only (daemons connect from elsewhere)')
    .option('--config <file>', 'configuration file')
    .option('--data-dir <dir>', 'data folder (default $SWITCHYARD_HOME or ~/.switchyard)')
    .option('--port <port>', 'port to listen on')
    .option('--host <host>', 'address to listen on')
    .action((flags: ServeFlags) => serve(flags, false));
}

async function serve(flags: ServeFlags, withDaemon: boolean): Promise<void> {
  const started = Date.now();
  // Loaded here, not at the top: every other command starts faster without the server and PGlite.
  const [{ startStack }, { dashboardPlugin }] = await Promise.all([import('../stack.js'), import('../../server/dashboard.js')]);
  const { config, path } = loadConfig(flags.config);
  const log = createLogger();
  const dataDir = dataDirFrom(flags.dataDir);
  const port = flags.port !== undefined ? Number.parseInt(flags.port, 10) : undefined;
  const stack: Stack = await startStack({ config, dataDir, log, withDaemon, port, host: flags.host, plugins: [dashboardPlugin(log)] }).catch((err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      throw new Error(`port ${port ?? config.runtime.daemon_port} is already in use (another switchyard?). Choose another with --port or SWITCHYARD_PORT.`, { cause: err });
    }
    throw err;
  });
  const agents = stack.daemon?.agents() ?? [];
  const lines = [
    '',
    `  Switchyard is up (${Date.now() - started} ms).`,
    '',
    `  Dashboard    ${stack.url}/#token=${stack.adminToken}`,
    `  API          ${stack.url}/api/v1   (reference: ${stack.url}/docs)`,
    `  Admin token  ${stack.adminToken}${stack.adminTokenCreated ? '   (new; ' : '   ('}saved in ${dataDir}/admin-token)`,
    `  Database     ${stack.database}`,
    `  Config       ${path ?? 'none (defaults)'}`,
    `  Workspace    ${stack.defaultWorkspace}`,
  ];
  if (withDaemon) {
    const ok = agents.filter((a) => a.status === 'ok').map((a) => `${a.name}${a.version ? ` ${a.version}` : ''}`);
    const bad = agents.filter((a) => a.status !== 'ok').map((a) => `${a.name} (${a.status}: ${a.reason})`);
    lines.push(`  Agents       ${ok.length ? ok.join(', ') : 'none found — install an agent CLI (claude, codex, gemini, …) or add a command agent to the config'}`);
    if (bad.length) lines.push(`  Unavailable  ${bad.join('; ')}`);
  }
  lines.push('', `  Try: switchyard task create --agent ${agents.find((a) => a.status === 'ok')?.name ?? '<agent>'} "Say hello"`, '  Stop with Ctrl-C.', '');
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      void stack.stop().finally(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

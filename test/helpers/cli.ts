/**
 * The `switchyard` command as a child process (`node bin/switchyard.mjs …`),
 * the way a person or a CI job runs it. Asynchronous on purpose: the server
 * under test usually lives in this process, and a blocking spawn would starve
 * it. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { CLI } from './daemon.js';
import { track, untrack } from './leaks.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
}

export function runCli(args: string[], opts: CliOptions): Promise<CliResult> {
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: opts.env,
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  track(proc, `switchyard ${args.slice(0, 2).join(' ')}`);
  let stdout = '';
  let stderr = '';
  // Piped by the stdio above; TypeScript loses that through the conditional stdin.
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  if (opts.input !== undefined) proc.stdin?.end(opts.input);
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => {
      untrack(proc);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * This process's environment with a data folder of its own and none of the
 * test run's variables that would point the CLI at another server, workspace
 * or token (each command names them with `--url`/`--token`), or add debug output.
 */
export function cliEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_HOME: home, NO_COLOR: '1' };
  for (const k of ['SWITCHYARD_URL', 'SWITCHYARD_TOKEN', 'SWITCHYARD_WORKSPACE', 'SWITCHYARD_DEBUG']) delete env[k];
  return env;
}

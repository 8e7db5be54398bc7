/**
 * Daemons for tests: in this process (fast, for most tests), or as a real
 * `switchyard daemon` child process (for killing it with SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { testConfig, testConfigYaml, type TestConfigInput } from './config.js';
import { track, untrack } from './leaks.js';
import { testLog } from './server.js';
import { until } from './wait.js';

export const CLI = fileURLToPath(new URL('../../bin/switchyard.mjs', import.meta.url));

export function tempDir(prefix = 'sy-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestDaemon extends DaemonHandle {
  stateDir: string;
}

export async function startTestDaemon(url: string, token: string, opts: { config?: TestConfigInput; stateDir?: string; name?: string } = {}): Promise<TestDaemon> {
  const stateDir = opts.stateDir ?? tempDir('sy-daemon-');
  const d = await startDaemon({ url, token, config: testConfig(opts.config), stateDir, log: testLog, version: 'test', name: opts.name ?? 'test-daemon' });
  track(d, `daemon ${d.id}`);
  await until(() => d.connected(), 'the daemon to connect');
  return {
    ...d,
    stateDir,
    async stop() {
      await d.stop();
      untrack(d);
    },
  };
}

export interface DaemonProcess {
  proc: ChildProcess;
  stateDir: string;
  id(): string;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnDaemon(url: string, token: string, opts: { config?: TestConfigInput; stateDir?: string; name?: string } = {}): Promise<DaemonProcess> {
  const stateDir = opts.stateDir ?? tempDir('sy-daemon-');
  const configPath = join(stateDir, 'config.yaml');
  writeFileSync(configPath, testConfigYaml(opts.config));
  const proc = spawn(process.execPath, [CLI, 'daemon', '--url', url, '--token', token, '--config', configPath, '--state-dir', stateDir, '--name', opts.name ?? 'child-daemon'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SWITCHYARD_LOG_FORMAT: 'json', SWITCHYARD_LOG_LEVEL: 'info' },
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  track(proc, `daemon process ${proc.pid}`);
  void exited.then(() => untrack(proc));
  await until(() => out.includes('"connected to server"'), `daemon process to connect (output: ${out.slice(-500)})`, 15_000);
  return {
    proc,
    stateDir,
    id: () => readFileSync(join(stateDir, 'daemon-id'), 'utf8').trim(),
    output: () => out,
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

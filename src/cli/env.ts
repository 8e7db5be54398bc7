/**
 * Where things are on this machine: the data folder, the configuration file,
 * the log output. Shared by every command that starts something.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { parseConfig, type ConfigIssue, type Orchestrator } from '../core/config/index.js';
import { ConfigError } from '../core/errors.js';

export const DEFAULT_CONFIG_NAMES = ['agent-orchestrator.config.yaml', 'switchyard.yaml'];

export function dataDirFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.SWITCHYARD_HOME ?? join(homedir(), '.switchyard'));
}

/** The configuration file to read: --config, SWITCHYARD_CONFIG, or one of the default names in the current folder. */
export function configPathFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag) return resolve(flag);
  if (env.SWITCHYARD_CONFIG) return resolve(env.SWITCHYARD_CONFIG);
  return DEFAULT_CONFIG_NAMES.map((n) => resolve(n)).find((p) => existsSync(p));
}

export interface LoadedConfig {
  config: Orchestrator;
  path: string | undefined;
  overrides: string[];
}

export function loadConfig(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const path = configPathFrom(flag, env);
  let text = '';
  if (path) {
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read the configuration file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const r = parseConfig(text, env);
  if (!r.ok) {
    throw new ConfigError(`${path ?? 'the configuration'} has ${r.issues.length} problem${r.issues.length > 1 ? 's' : ''}`, r.issues.map(issueDetail));
  }
  return { config: r.config, path, overrides: r.overrides };
}

function issueDetail(i: ConfigIssue): { path: string; message: string } {
  return { path: i.line ? `${i.path} (line ${i.line})` : i.path, message: i.message };
}

/** JSON logs for machines; readable lines when a person watches the terminal. */
export function createLogger(env: NodeJS.ProcessEnv = process.env, name = 'switchyard'): Logger {
  const level = env.SWITCHYARD_LOG_LEVEL ?? 'info';
  if (env.SWITCHYARD_LOG_FORMAT === 'json' || (!process.stderr.isTTY && env.SWITCHYARD_LOG_FORMAT !== 'pretty')) {
    return pino({ name, level }, pino.destination({ dest: 2, sync: false }));
  }
  return pino({ name, level }, pretty({ destination: 2, sync: true, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss' }));
}

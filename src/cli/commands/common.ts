/** Options shared by the commands that talk to a server. */
import type { Command } from 'commander';
import { clientFrom, type ConnectFlags } from '../connect.js';
import { UsageError } from '../errors.js';

export type ClientFlags = ConnectFlags & { json?: boolean };

export function withConnection(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'server URL (or SWITCHYARD_URL; default: the local server)')
    .option('--token <token>', 'API token (or SWITCHYARD_TOKEN; default: the local admin token)')
    .option('--workspace <id>', 'workspace to act on (instance admin tokens; or SWITCHYARD_WORKSPACE)')
    .option('--data-dir <dir>', 'data folder of the local server');
}

export { clientFrom };

export function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`${name} must be a whole number, got "${value}"`);
  return Number.parseInt(value, 10);
}

export function listOption(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

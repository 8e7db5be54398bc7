/**
 * How a command finds its server: --url/--token, SWITCHYARD_URL /
 * SWITCHYARD_TOKEN, or — on the machine that runs `switchyard up` — the
 * data folder, where the server writes its address and the admin token.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SwitchyardClient } from '../client/index.js';
import { dataDirFrom } from './env.js';
import { UsageError } from './errors.js';

export interface ConnectFlags {
  url?: string;
  token?: string;
  workspace?: string;
  dataDir?: string;
}

export interface ServerFile {
  url: string;
  pid: number;
  startedAt: string;
}

export function serverFilePath(dataDir: string): string {
  return join(dataDir, 'server.json');
}

export function readServerFile(dataDir: string): ServerFile | undefined {
  try {
    return JSON.parse(readFileSync(serverFilePath(dataDir), 'utf8')) as ServerFile;
  } catch {
    return undefined;
  }
}

export function clientFrom(flags: ConnectFlags, env: NodeJS.ProcessEnv = process.env): SwitchyardClient {
  const dataDir = dataDirFrom(flags.dataDir, env);
  const url = flags.url ?? env.SWITCHYARD_URL ?? readServerFile(dataDir)?.url;
  if (!url) {
    throw new UsageError(
      `no server to talk to: no switchyard is running with data folder ${dataDir}. ` +
        'Start one with `switchyard up`, or pass --url (or set SWITCHYARD_URL) and --token (SWITCHYARD_TOKEN).',
    );
  }
  let token = flags.token ?? env.SWITCHYARD_TOKEN;
  if (!token) {
    const path = join(dataDir, 'admin-token');
    if (existsSync(path)) token = readFileSync(path, 'utf8').trim();
  }
  if (!token) throw new UsageError(`no token: pass --token or set SWITCHYARD_TOKEN (the admin token of a local server is in ${join(dataDir, 'admin-token')})`);
  const workspace = flags.workspace ?? env.SWITCHYARD_WORKSPACE;
  return new SwitchyardClient({ url, token, ...(workspace ? { workspace } : {}) });
}

/**
 * Finding and checking agent CLIs. Agents come from the configuration
 * (explicit binary paths win) and, for the known CLIs not configured, from
 * PATH. Each is checked: it exists, it is executable, and `--version`
 * answers within 10 s. A missing binary is reported with the path tried,
 * never silently skipped.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { getAdapter } from '../agents/registry.js';
import type { AgentConfigFile } from '../core/config/index.js';
import { KNOWN_AGENT_NAMES } from '../core/config/index.js';
import type { AgentCheckFrame } from '../core/protocol.js';
import type { ContainerSpec } from './container.js';

export const VERSION_TIMEOUT_MS = 10_000;

export interface AgentEntry {
  name: string;
  config: AgentConfigFile | undefined;
  /** Absolute path (or, in a container, the command), or null when nothing was found. */
  binary: string | null;
  /** Where we looked, for the error message. */
  tried: string;
  /** Set when the agent runs through a container engine instead of a host binary. */
  container?: ContainerSpec;
}

/** Looks a command up on PATH, like `which`. */
export function which(command: string, pathEnv = process.env.PATH ?? ''): string | null {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // not here
    }
  }
  return null;
}

export function resolveAgents(configured: readonly AgentConfigFile[], pathEnv = process.env.PATH ?? ''): AgentEntry[] {
  const out: AgentEntry[] = [];
  for (const a of configured) {
    const adapter = getAdapter(a.name, a);
    const bin = a.binary ?? adapter.defaultBinary;
    const explicit = Boolean(a.binary && (isAbsolute(a.binary) || a.binary.includes('/')));
    const host = explicit ? (existsSync(resolve(bin)) ? resolve(bin) : null) : which(bin, pathEnv);
    const tried = explicit ? resolve(bin) : `${bin} on PATH`;
    if (a.container && (a.container_only || !host)) {
      // Inside the image the CLI is found by its name on the image's PATH.
      out.push({ name: a.name, config: a, binary: basename(bin), tried: `${a.container.engine} image ${a.container.image} (host: ${tried} ${a.container_only ? 'not used' : 'not found'})`, container: a.container });
    } else {
      out.push({ name: a.name, config: a, binary: explicit ? resolve(bin) : host, tried });
    }
  }
  for (const name of KNOWN_AGENT_NAMES) {
    if (out.some((a) => a.name === name)) continue;
    const bin = getAdapter(name).defaultBinary;
    const found = which(bin, pathEnv);
    // Known CLIs that are not configured and not installed are simply not offered.
    if (found) out.push({ name, config: undefined, binary: found, tried: `${bin} on PATH` });
  }
  return out;
}

export async function checkAgent(entry: AgentEntry, timeoutMs = VERSION_TIMEOUT_MS): Promise<AgentCheckFrame> {
  if (entry.container) return checkContainer(entry, timeoutMs);
  const base = { name: entry.name, binary: entry.binary ?? entry.tried, version: null };
  if (!entry.binary) return { ...base, status: 'missing', reason: `not found (${entry.tried})` };
  try {
    const st = statSync(entry.binary);
    if (!st.isFile()) return { ...base, status: 'not_executable', reason: `${entry.binary} is not a file` };
  } catch {
    return { ...base, status: 'missing', reason: `${entry.binary} does not exist` };
  }
  try {
    accessSync(entry.binary, constants.X_OK);
  } catch {
    return { ...base, status: 'not_executable', reason: `${entry.binary} is not executable (chmod +x?)` };
  }
  const adapter = getAdapter(entry.name, entry.config);
  const versionArgs = entry.config?.version_args ?? adapter.versionArgs;
  if (versionArgs.length === 0) return { ...base, status: 'ok', reason: null };
  // With the agent's own environment (its HOME, its keys), as it will run.
  const env = { ...process.env, ...(entry.config?.env ?? {}) };
  const probe = () =>
    new Promise<string>((ok, fail) => {
      execFile(entry.binary!, [...versionArgs], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, env }, (err, stdout, stderr) => {
        if (err) fail(err);
        else ok(`${stdout}\n${stderr}`);
      });
    });
  try {
    // A slow start on a busy machine is not a broken CLI: one more try before saying so.
    const out = await probe().catch((err: NodeJS.ErrnoException & { killed?: boolean }) => (err.killed ? probe() : Promise.reject(err)));
    const version = adapter.parseVersion(out) ?? null;
    return { ...base, version, status: 'ok', reason: null };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
    const shown = [entry.binary, ...versionArgs].join(' ');
    const reason = e.killed ? `\`${shown}\` did not answer within ${timeoutMs / 1000} s` : `\`${shown}\` failed: ${e.message.split('\n')[0]}`;
    return { ...base, status: 'version_failed', reason };
  }
}

/** A container agent is available when its engine answers (`docker info`): the image is pulled on first run. */
async function checkContainer(entry: AgentEntry, timeoutMs: number): Promise<AgentCheckFrame> {
  const c = entry.container!;
  const base = { name: entry.name, binary: `${c.engine} run ${c.image} ${entry.binary}` };
  const engine = which(c.engine);
  if (!engine) return { ...base, version: null, status: 'missing', reason: `${entry.tried}; container engine ${c.engine} is not installed` };
  try {
    const server = await new Promise<string>((ok, fail) => {
      execFile(engine, ['info', '--format', '{{.ServerVersion}}'], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => (err ? fail(new Error((stderr || err.message).trim().split('\n')[0])) : ok(stdout.trim())));
    });
    return { ...base, version: `${c.engine} ${server}`, status: 'ok', reason: null };
  } catch (err) {
    return { ...base, version: null, status: 'missing', reason: `${entry.tried}; container engine ${c.engine} is not running: ${(err as Error).message}` };
  }
}

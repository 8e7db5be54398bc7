/**
 * Everything decided before an agent process starts: its working directory
 * (a git worktree when the task names a repository), what it is told (the
 * composed prompt), its argument list, its environment, and — for agents
 * run in a container — the engine command around it.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentAdapter } from '../agents/types.js';
import type { AgentConfigFile } from '../core/config/index.js';
import type { AssignFrame } from '../core/protocol.js';
import { containerCommand, type ContainerSpec } from './container.js';
import { agentEnv } from './env.js';
import { askInstructions, composePrompt } from './prompt.js';
import { runDir } from './state.js';
import { prepareWorktree, type Worktree } from './worktree.js';

export const SWITCHYARD_BIN = fileURLToPath(new URL('../../bin/switchyard.mjs', import.meta.url));

export interface LaunchInput {
  assign: AssignFrame;
  adapter: AgentAdapter;
  /** The binary on the host, or the command inside the container. */
  binary: string;
  container?: ContainerSpec;
  agentConfig: AgentConfigFile | undefined;
  stateDir: string;
  daemonId: string;
  /** Tell the agent how to ask questions (known CLIs; command agents get the prompt verbatim). */
  withPreamble: boolean;
}

export interface LaunchPlan {
  binary: string;
  args: string[];
  env: Record<string, string>;
  stdin: string | undefined;
  cwd: string;
  worktree: Worktree | undefined;
  model: string | undefined;
  note: string | undefined;
}

/**
 * A `switchyard` command on the agent's PATH, so an agent can run
 * `switchyard ask "…"` whatever is installed on the machine.
 */
const shims = new Map<string, string>();

export function ensureShim(stateDir: string): string {
  const known = shims.get(stateDir);
  if (known) return known;
  const dir = join(stateDir, 'bin');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'switchyard');
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  writeFileSync(path, `#!/bin/sh\nexec ${q(process.execPath)} ${q(SWITCHYARD_BIN)} "$@"\n`);
  chmodSync(path, 0o755);
  // Written once per daemon process, not per run (it is on the dispatch path).
  shims.set(stateDir, dir);
  return dir;
}

export async function planLaunch(i: LaunchInput): Promise<LaunchPlan> {
  const a = i.assign;
  const worktree = a.repo ? await prepareWorktree(i.stateDir, a.repo, a.baseRef, a.taskId) : undefined;
  const workdir = worktree?.path ?? runDir(i.stateDir, a.workspaceId, a.taskId);
  const scratchDir = join(i.stateDir, 'scratch', a.taskId, String(a.attempt));
  const sessionDir = join(i.stateDir, 'sessions', a.taskId);
  mkdirSync(workdir, { recursive: true });
  mkdirSync(scratchDir, { recursive: true });
  const shimDir = ensureShim(i.stateDir);
  const composed = composePrompt(a, {
    supportsResume: i.adapter.supportsResume,
    selfId: i.daemonId,
    ...(a.previousFailure ? { retrySummary: a.previousFailure } : {}),
    // The shim by its absolute path: some CLIs run commands in a login shell whose profile resets PATH.
    ...(i.withPreamble ? { preamble: askInstructions(join(shimDir, 'switchyard')) } : {}),
  });
  const model = a.model ?? i.agentConfig?.default_model;
  const taskEnv = {
    SWITCHYARD_TASK_ID: a.taskId,
    SWITCHYARD_ATTEMPT: String(a.attempt),
    SWITCHYARD_WORKSPACE: a.workspaceId,
    SWITCHYARD_URL: a.serverUrl,
    SWITCHYARD_TOKEN: a.taskToken,
  };
  // The same two tools as an MCP server, for CLIs that take an MCP configuration.
  let mcpConfigPath: string | undefined;
  if (i.adapter.acceptsMcpConfig) {
    mcpConfigPath = join(scratchDir, 'mcp.json');
    writeFileSync(mcpConfigPath, JSON.stringify({ mcpServers: { switchyard: { command: process.execPath, args: [SWITCHYARD_BIN, 'mcp'], env: taskEnv } } }, null, 2), { mode: 0o600 });
  }
  const inv = i.adapter.buildInvocation({
    prompt: composed.prompt,
    ...(model ? { model } : {}),
    ...(composed.resumeSessionId ? { resumeSessionId: composed.resumeSessionId } : {}),
    workdir,
    scratchDir,
    sessionDir,
    ...(mcpConfigPath ? { mcpConfigPath } : {}),
    runningAsRoot: process.getuid?.() === 0,
    ...(i.agentConfig?.args ? { argsTemplate: i.agentConfig.args, extraArgs: i.agentConfig.args } : {}),
  });
  for (const d of inv.ensureDirs ?? []) mkdirSync(d, { recursive: true });
  const env = agentEnv(process.env, i.adapter.envPassthrough, i.agentConfig?.env ?? {}, inv.env, taskEnv);
  env.PATH = `${shimDir}:${env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`;
  let binary = i.binary;
  let args = inv.args;
  if (i.container) {
    // The container has its own PATH, HOME and users: pass only the rest.
    const hostOnly = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR']);
    const cmd = containerCommand(i.container, { workdir, command: i.binary, args: inv.args, envNames: Object.keys(env).filter((k) => !hostOnly.has(k)), interactive: inv.stdin !== undefined });
    binary = cmd.binary;
    args = cmd.args;
  }
  return { binary, args, env, stdin: inv.stdin, cwd: workdir, worktree, model, note: composed.note };
}

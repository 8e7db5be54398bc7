/**
 * The agents Switchyard knows by name. Adding a CLI is one adapter file and one
 * line in KNOWN_ADAPTERS (and its name in the config's KNOWN_AGENT_NAMES);
 * every other name is a command agent built from its config entry.
 */
import type { AgentConfigFile } from '../core/config/index.js';
import { claudeCode } from './claudeCode.js';
import { codex } from './codex.js';
import { createCommandAdapter } from './command.js';
import { cursorAgent } from './cursorAgent.js';
import { gemini } from './gemini.js';
import { opencode } from './opencode.js';
import type { AgentAdapter } from './types.js';

const KNOWN_ADAPTERS: readonly AgentAdapter[] = [claudeCode, codex, gemini, cursorAgent, opencode];

const byName = new Map(KNOWN_ADAPTERS.map((a) => [a.name, a]));

export const knownAdapterNames: readonly string[] = KNOWN_ADAPTERS.map((a) => a.name);

export function isKnownAgent(name: string): boolean {
  return byName.has(name);
}

/**
 * The adapter for an agent name: the known CLI's, else a command agent running
 * the entry's `binary` (the name itself when none) with its `args` template.
 * For a known CLI the entry's `args` are extra options (`RunSpec.extraArgs`),
 * which the daemon passes per run.
 */
export function getAdapter(name: string, agentConfig?: Pick<Partial<AgentConfigFile>, 'binary' | 'args'>): AgentAdapter {
  const known = byName.get(name);
  if (known) return known;
  return createCommandAdapter({
    name,
    ...(agentConfig?.binary !== undefined ? { binary: agentConfig.binary } : {}),
    ...(agentConfig?.args !== undefined ? { argsTemplate: agentConfig.args } : {}),
  });
}

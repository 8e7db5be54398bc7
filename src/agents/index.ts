/**
 * What the daemon uses of the agents: the registry, the adapter shape, and
 * the helpers to read usage totals and failure classes. The adapters
 * themselves are reached through `getAdapter`.
 */
export { getAdapter, isKnownAgent, knownAdapterNames } from './registry.js';
export { createCommandAdapter, expandTemplate, type CommandAgentOptions } from './command.js';
export { totalTokens } from './shared.js';
export type { FailureClass } from '../core/failureText.js';
export type * from './types.js';

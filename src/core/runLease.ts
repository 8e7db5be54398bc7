import type { Orchestrator } from './config/index.js';

/**
 * How long a runtime's runs outlive silence from it before they count as
 * lost: the configured lease, but never fewer than three missed heartbeats.
 * One rule, so the server's lease and reaper and the daemon's fence agree.
 */
export function runLeaseMs(config: { runtime: Pick<Orchestrator['runtime'], 'lease'>; streaming: Pick<Orchestrator['streaming'], 'heartbeat_interval'> }): number {
  return Math.max(config.runtime.lease, 3 * config.streaming.heartbeat_interval);
}

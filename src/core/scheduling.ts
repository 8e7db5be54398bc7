/**
 * Choosing a runtime for the next task: smooth weighted round-robin (the
 * algorithm nginx uses for upstreams) over eligible runtimes, weighted by
 * their free slots. Over a round every runtime is picked in proportion to its
 * weight, and picks of one runtime are spread out rather than bunched.
 */

export interface Candidate {
  id: string;
  /** Free slots; runtimes with none are not candidates. */
  weight: number;
}

/** Running scores per runtime, kept by the caller between picks. */
export type RoundRobinState = Map<string, number>;

export function pickWeighted(candidates: readonly Candidate[], state: RoundRobinState): string | undefined {
  let total = 0;
  let best: Candidate | undefined;
  let bestScore = -Infinity;
  for (const c of candidates) {
    if (c.weight <= 0) continue;
    const score = (state.get(c.id) ?? 0) + c.weight;
    state.set(c.id, score);
    total += c.weight;
    // Ties go to the first candidate, so equal runtimes alternate in a stable order.
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  if (!best) return undefined;
  state.set(best.id, bestScore - total);
  return best.id;
}

export interface RuntimeLoad {
  /** Fraction of all cores busy over the last interval (0..1). */
  cpu: number;
  /** Memory held by this runtime: the daemon plus its agents' processes (RSS). */
  memMb: number;
}

export interface Thresholds {
  cpuThreshold: number;
  memoryThresholdMb: number;
}

/** Whether a runtime must get no new work, and why (DESIGN.md §7). */
export function throttleReason(load: RuntimeLoad, t: Thresholds): string | null {
  if (load.cpu > t.cpuThreshold) return `CPU load ${load.cpu.toFixed(2)} over threshold ${t.cpuThreshold}`;
  if (load.memMb > t.memoryThresholdMb) return `memory ${Math.round(load.memMb)} MB over threshold ${t.memoryThresholdMb} MB`;
  return null;
}

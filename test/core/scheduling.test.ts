/**
 * Choosing a runtime: smooth weighted round-robin by free slots, and the
 * health throttle (DESIGN.md §1 step 2, §7).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pickWeighted, throttleReason, type Candidate, type RoundRobinState } from '../../src/core/scheduling.js';

/** Runs `n` picks over a fixed set of candidates from a fresh state. */
function picks(candidates: readonly Candidate[], n: number, state: RoundRobinState = new Map()): (string | undefined)[] {
  return Array.from({ length: n }, () => pickWeighted(candidates, state));
}

function count(seq: readonly (string | undefined)[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const id of seq) if (id !== undefined) c[id] = (c[id] ?? 0) + 1;
  return c;
}

function longestRun(seq: readonly (string | undefined)[], id: string): number {
  let best = 0;
  let run = 0;
  for (const x of seq) {
    run = x === id ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

describe('smooth weighted round-robin', () => {
  it('picks each runtime in exact proportion to its free slots over many rounds', () => {
    const seq = picks([{ id: 'big', weight: 5 }, { id: 'mid', weight: 3 }, { id: 'small', weight: 1 }], 9 * 1000);
    expect(count(seq)).toEqual({ big: 5000, mid: 3000, small: 1000 });
  });

  it('spreads a heavy runtime’s picks through the round instead of bunching them', () => {
    // A naive weighted round-robin gives a a a a a b c; the smooth one interleaves.
    const seq = picks([{ id: 'a', weight: 5 }, { id: 'b', weight: 1 }, { id: 'c', weight: 1 }], 7 * 20);
    expect(seq.slice(0, 7)).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
    for (let round = 0; round < 20; round++) expect(longestRun(seq.slice(round * 7, round * 7 + 7), 'a')).toBe(2);
    // Every window of one round (7 picks) holds exactly the weights, wherever it starts.
    for (let i = 0; i + 7 <= seq.length; i++) expect(count(seq.slice(i, i + 7)), `window at ${i}`).toEqual({ a: 5, b: 1, c: 1 });
  });

  it('alternates runtimes of equal weight in a stable order', () => {
    expect(picks([{ id: 'x', weight: 2 }, { id: 'y', weight: 2 }], 6)).toEqual(['x', 'y', 'x', 'y', 'x', 'y']);
  });

  it('holds the proportions for any set of weights, and never lets a runtime run 2 picks ahead of or behind its share (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 4 }), (weights, rounds) => {
        const candidates = weights.map((weight, i) => ({ id: `r${i}`, weight }));
        const total = weights.reduce((a, b) => a + b, 0);
        const seq = picks(candidates, total * rounds);
        for (const cand of candidates) {
          expect(count(seq)[cand.id]).toBe(cand.weight * rounds);
          // After any number of picks n, a runtime has had about n · weight / total of them.
          // A bunched scheduler (all of a runtime's picks in a row) is off by up to weight · (1 - weight / total).
          let had = 0;
          seq.forEach((id, i) => {
            if (id === cand.id) had++;
            expect(Math.abs(had - ((i + 1) * cand.weight) / total)).toBeLessThan(2);
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never picks a runtime with no free slot, and answers undefined when nobody has one', () => {
    const seq = picks([{ id: 'full', weight: 0 }, { id: 'free', weight: 2 }, { id: 'broken', weight: -3 }], 50);
    expect(new Set(seq)).toEqual(new Set(['free']));
    const state: RoundRobinState = new Map();
    expect(pickWeighted([{ id: 'full', weight: 0 }], state)).toBeUndefined();
    expect(pickWeighted([], state)).toBeUndefined();
    expect(state.has('full')).toBe(false);
  });

  it('follows capacity as it changes between picks, without a debt from the past', () => {
    const state: RoundRobinState = new Map();
    picks([{ id: 'a', weight: 3 }, { id: 'b', weight: 1 }], 4, state);
    // `a` fills up; every pick now goes to `b`, and back to shares once `a` frees slots.
    expect(picks([{ id: 'a', weight: 0 }, { id: 'b', weight: 1 }], 3, state)).toEqual(['b', 'b', 'b']);
    expect(count(picks([{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }], 10, state))).toEqual({ a: 5, b: 5 });
  });
});

describe('throttleReason', () => {
  const t = { cpuThreshold: 0.85, memoryThresholdMb: 4096 };

  it('lets a runtime under both thresholds (or exactly at them) take work', () => {
    expect(throttleReason({ cpu: 0.2, memMb: 512 }, t)).toBeNull();
    expect(throttleReason({ cpu: 0.85, memMb: 4096 }, t)).toBeNull();
  });

  it('names the CPU load and the threshold when the CPU is over', () => {
    const reason = throttleReason({ cpu: 0.93, memMb: 100 }, t);
    expect(reason).toMatch(/CPU/);
    expect(reason).toContain('0.93');
    expect(reason).toContain('0.85');
  });

  it('names the memory and the threshold when the memory is over', () => {
    const reason = throttleReason({ cpu: 0.1, memMb: 5000.4 }, t);
    expect(reason).toMatch(/memory/);
    expect(reason).toContain('5000 MB');
    expect(reason).toContain('4096 MB');
  });

  it('gives one reason when both are over', () => {
    expect(throttleReason({ cpu: 0.99, memMb: 9999 }, t)).toMatch(/CPU/);
  });
});

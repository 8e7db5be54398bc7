/**
 * How hard a vector query searches the HNSW graph (pgvector's
 * `hnsw.ef_search`). Pure: graph sizes, calibrations and recall measurements
 * come from the caller (src/store/skills.ts, src/skills/calibrate.ts).
 *
 * Two sources, in order of trust:
 *  1. A calibration: the smallest effort that found `target` of the exact
 *     top 3 for the queries this model actually served, measured on its
 *     graph (src/skills/calibrate.ts). How much effort a recall needs
 *     depends on how the vectors lie: at 100k skills a library of variants
 *     of real tasks needs ef_search ~200 for 97%, random word bags ~500
 *     (bench/skills-speed.ts). Only the data can say which one a
 *     workspace is.
 *  2. Before there is one, a prior from the size alone, fitted to the worst
 *     case (the word bags): ef_search 100 finds 97–98% of the exact top 3 among
 *     10k of them, but 79% among 100k, where 400 is needed for 95%. The
 *     effort grows as a power of the size through those two points.
 * A calibrated effort still grows with the graph by the same power, so it
 * stays safe until the next calibration.
 */

export interface SearchEffort {
  /** ef_search at and below `baseSize`. */
  base: number;
  baseSize: number;
  /** ef grows as (size / baseSize) ^ exponent. */
  exponent: number;
  /** pgvector refuses ef_search above 1000. */
  max: number;
}

export const SEARCH_EFFORT: SearchEffort = { base: 100, baseSize: 10_000, exponent: 0.6, max: 1000 };

/** A measured effort for one model's graph. */
export interface Calibration {
  ef: number;
  /** Recall@3 the sample queries reached at `ef`. */
  recall: number;
  /** Vectors in the graph when it was measured. */
  graphSize: number;
  samples: number;
  at: Date;
}

export interface CalibrationRules {
  /** Recall@3 the chosen effort must reach on the samples; above the 0.95 asked for, since the samples are few and tomorrow's queries differ. */
  target: number;
  /** Efforts tried, ascending. It starts at the base effort: a measurement on a hundred queries may say less would do, but a graph above `minGraphSize` never searches less hard than a smaller one. */
  ladder: readonly number[];
  /** Graphs up to this size keep the base effort (its recall was 0.97 on the worst case at 10k), so there is nothing to gain. */
  minGraphSize: number;
  /** Queries kept per model; a calibration starts once this many are kept. */
  sampleSize: number;
  /** Of those, how many must have three neighbours in their own workspace to be measured on (the others have nothing to find); fewer, and nothing is stored. */
  minUsable: number;
  /** A workspace with at least this many usable queries must reach the target on its own, so one workspace's easy queries cannot set another's effort. */
  minPerWorkspace: number;
  /** Measure again when the graph has grown or shrunk by this factor… */
  drift: number;
  /** …or when the calibration is this old (what is in a library changes without its size changing). */
  maxAgeMs: number;
  /** After a calibration that failed or had too few usable queries, wait this long before the next. */
  retryAfterMs: number;
}

export const CALIBRATION: CalibrationRules = {
  target: 0.97,
  ladder: [100, 140, 200, 280, 400, 560, 800, 1000],
  minGraphSize: SEARCH_EFFORT.baseSize,
  sampleSize: 100,
  minUsable: 40,
  minPerWorkspace: 20,
  drift: 1.25,
  maxAgeMs: 24 * 3600_000,
  retryAfterMs: 3600_000,
};

/** ef_search for a graph of `graphSize` vectors; an unknown or nonsensical size gets the base effort. */
export function efSearchFor(graphSize: number, calibration?: Calibration, c: SearchEffort = SEARCH_EFFORT): number {
  if (!Number.isFinite(graphSize) || graphSize <= c.baseSize) return c.base;
  if (calibration && calibration.graphSize > 0) {
    // A graph that shrank keeps the measured effort: more than it needs, never less.
    const growth = Math.max(1, graphSize / calibration.graphSize);
    return Math.min(c.max, Math.max(c.base, Math.round(calibration.ef * growth ** c.exponent)));
  }
  return Math.min(c.max, Math.round(c.base * (graphSize / c.baseSize) ** c.exponent));
}

/** Whether a model's effort should be measured (again) now. */
export function calibrationDue(s: { graphSize: number; calibration?: Calibration; samples: number; now: Date }, r: CalibrationRules = CALIBRATION): boolean {
  if (!(s.graphSize > r.minGraphSize) || s.samples < r.sampleSize) return false;
  const c = s.calibration;
  if (!c || !(c.graphSize > 0)) return true;
  const ratio = s.graphSize / c.graphSize;
  return ratio > r.drift || ratio < 1 / r.drift || s.now.getTime() - c.at.getTime() > r.maxAgeMs;
}

/** The share of the exact neighbours that were found, over all queries (1 when there was nothing to find: callers measure only queries that had neighbours). */
export function recallOf(exact: readonly (readonly string[])[], found: readonly (readonly string[])[]): number {
  let want = 0;
  let got = 0;
  exact.forEach((ids, i) => {
    const f = new Set(found[i] ?? []);
    want += ids.length;
    got += ids.filter((id) => f.has(id)).length;
  });
  return want === 0 ? 1 : got / want;
}

/**
 * The recall an effort is judged by: over all queries, and over each
 * group's own (a workspace's) when it has at least `minGroup` of them; the
 * lowest. Pooled alone, many easy queries of one workspace would hide the
 * misses of another that shares the graph.
 */
export function worstRecall(groups: readonly string[], exact: readonly (readonly string[])[], found: readonly (readonly string[])[], minGroup: number): number {
  let worst = recallOf(exact, found);
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const idx = byGroup.get(g);
    if (idx) idx.push(i);
    else byGroup.set(g, [i]);
  });
  for (const idx of byGroup.values()) {
    if (idx.length < minGroup) continue;
    worst = Math.min(worst, recallOf(idx.map((i) => exact[i]!), idx.map((i) => found[i] ?? [])));
  }
  return worst;
}

export interface EffortChoice {
  ef: number;
  recall: number;
  /** Every effort measured, in the order measured. */
  tried: { ef: number; recall: number }[];
}

/**
 * The smallest effort of the ladder whose recall reaches the target, by
 * bisection (recall grows with the effort), so a ladder of 8 costs 3 or 4
 * measurements. When none reaches it, the ladder's top.
 */
export async function chooseEffort(ladder: readonly number[], target: number, measure: (ef: number) => Promise<number>): Promise<EffortChoice> {
  if (ladder.length === 0) throw new Error('chooseEffort needs at least one effort to try');
  const tried: { ef: number; recall: number }[] = [];
  const at = async (i: number) => {
    const recall = await measure(ladder[i]!);
    tried.push({ ef: ladder[i]!, recall });
    return recall;
  };
  let lo = 0;
  let hi = ladder.length - 1;
  let best: { ef: number; recall: number } | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const recall = await at(mid);
    if (recall >= target) {
      best = { ef: ladder[mid]!, recall };
      hi = mid - 1;
    } else lo = mid + 1;
  }
  if (best) return { ...best, tried };
  const top = tried.find((t) => t.ef === ladder[ladder.length - 1]) ?? { ef: ladder[ladder.length - 1]!, recall: await at(ladder.length - 1) };
  return { ...top, tried };
}

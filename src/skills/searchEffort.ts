/**
 * How hard a vector query searches the HNSW graph (pgvector's
 * `hnsw.ef_search`), from the number of vectors in the graph. A fixed effort
 * that is plenty for 10k skills misses neighbours at 100k: on the word-bag
 * corpus of bench/skills-speed.ts (the worst case), ef_search 100 finds 98%
 * of the exact top 3 among 10k skills but 79% among 100k, and 400 is needed
 * there for 95% (the library-shaped corpus gets 94% at 100).
 * The effort grows as a power of the size fitted to those two points, so
 * small libraries keep their fast queries and large ones keep their recall.
 * Pure: the graph size comes from the caller (src/store/skills.ts reads
 * the index's row estimate).
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

/** ef_search for a graph of `graphSize` vectors; an unknown or nonsensical size gets the base effort. */
export function efSearchFor(graphSize: number, c: SearchEffort = SEARCH_EFFORT): number {
  if (!Number.isFinite(graphSize) || graphSize <= c.baseSize) return c.base;
  return Math.min(c.max, Math.round(c.base * (graphSize / c.baseSize) ** c.exponent));
}

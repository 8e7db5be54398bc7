/**
 * How search results are ordered — one pure module, so the formula and its
 * constants are in one place and tested exhaustively (test/skills/ranking.test.ts).
 *
 * 1. Fusion: the vector ranking (cosine distance within the workspace and
 *    model) and the full-text ranking (`ts_rank_cd`) are fused by reciprocal
 *    rank fusion: Σ wᵢ / (k + rankᵢ). RRF needs no score calibration between
 *    the two — cosine similarities and ts_rank_cd values live on different
 *    scales — and a skill found by both sides beats one found by either.
 * 2. Re-rank: the fused relevance, normalised to 0–1, is multiplied by a
 *    usage boost (log-scaled: the 10th reuse matters less than the 2nd) and a
 *    recency decay (half-life on the time since last use, with a floor, so
 *    a stale skill sinks but never vanishes).
 */

export interface RankingConstants {
  /** RRF's k: larger flattens the difference between neighbouring ranks. */
  rrfK: number;
  vectorWeight: number;
  textWeight: number;
  /** Weight of the provider's own re-ranking (word alignment for `local`), when it has one. */
  alignWeight: number;
  /** Boost per doubling of use: score × (1 + usageBoost · log2(1 + uses − 1)). */
  usageBoost: number;
  /** Upper bound of the usage factor. */
  usageCap: number;
  /** Days for the recency factor to fall halfway to its floor. */
  halfLifeDays: number;
  /** What an ancient skill keeps of its score (0–1). */
  recencyFloor: number;
}

export const RANKING: RankingConstants = {
  rrfK: 20,
  vectorWeight: 1,
  textWeight: 1,
  alignWeight: 1,
  usageBoost: 0.1,
  usageCap: 1.5,
  halfLifeDays: 60,
  recencyFloor: 0.5,
};

/** One skill as found by the two searches: 1-based ranks, null when that side did not find it. */
export interface Candidate {
  id: string;
  vectorRank: number | null;
  textRank: number | null;
  /** Rank by the provider's re-ranking; null when it has none or the skill scored 0. */
  alignRank: number | null;
  /** Cosine similarity to the query (−1..1), null when it has no vector of the query's model. */
  similarity: number | null;
  usageCount: number;
  lastUsedAt: Date;
}

export interface Ranked extends Candidate {
  /** Fused relevance, 0–1 (1 = first on both sides). */
  relevance: number;
  score: number;
}

export function rrf(ranks: readonly (number | null)[], weights: readonly number[], k: number): number {
  let s = 0;
  ranks.forEach((r, i) => {
    if (r !== null && r >= 1) s += (weights[i] ?? 0) / (k + r);
  });
  return s;
}

export function usageFactor(usageCount: number, c: RankingConstants = RANKING): number {
  const extra = Math.max(0, usageCount - 1);
  return Math.min(c.usageCap, 1 + c.usageBoost * Math.log2(1 + extra));
}

export function recencyFactor(lastUsedAt: Date, now: Date, c: RankingConstants = RANKING): number {
  const days = Math.max(0, (now.getTime() - lastUsedAt.getTime()) / 86_400_000);
  return c.recencyFloor + (1 - c.recencyFloor) * 0.5 ** (days / c.halfLifeDays);
}

/**
 * Orders candidates best first; ties go to the better vector rank, then the
 * id (stable across calls). Relevance is normalised by the best fused score
 * possible with the rankings present in this search (a search whose provider
 * has no re-ranking is not penalised for lacking it).
 */
export function rank(candidates: readonly Candidate[], now: Date, c: RankingConstants = RANKING): Ranked[] {
  const weights = [c.vectorWeight, c.textWeight, c.alignWeight];
  const present = [
    candidates.some((x) => x.vectorRank !== null),
    candidates.some((x) => x.textRank !== null),
    candidates.some((x) => x.alignRank !== null),
  ];
  const best = rrf(present.map((p) => (p ? 1 : null)), weights, c.rrfK);
  return candidates
    .map((cand) => {
      const relevance = best > 0 ? rrf([cand.vectorRank, cand.textRank, cand.alignRank], weights, c.rrfK) / best : 0;
      const score = relevance * usageFactor(cand.usageCount, c) * recencyFactor(cand.lastUsedAt, now, c);
      return { ...cand, relevance, score };
    })
    .sort((a, b) => b.score - a.score || (a.vectorRank ?? Infinity) - (b.vectorRank ?? Infinity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

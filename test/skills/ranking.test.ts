import { describe, expect, it } from 'vitest';
import { RANKING, rank, recencyFactor, rrf, usageFactor, type Candidate } from '../../src/skills/ranking.js';

const now = new Date('2026-01-01T00:00:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);
const cand = (id: string, o: Partial<Candidate> = {}): Candidate => ({ id, vectorRank: null, textRank: null, alignRank: null, similarity: null, usageCount: 1, lastUsedAt: now, ...o });

describe('rrf', () => {
  it('sums weight / (k + rank) over the rankings that found the item', () => {
    expect(rrf([1, 3], [1, 1], 20)).toBeCloseTo(1 / 21 + 1 / 23);
    expect(rrf([null, 2], [1, 2], 20)).toBeCloseTo(2 / 22);
    expect(rrf([null, null], [1, 1], 20)).toBe(0);
  });
  it('ignores ranks below 1 and missing weights', () => {
    expect(rrf([0, -1], [1, 1], 20)).toBe(0);
    expect(rrf([1, 1], [1], 20)).toBeCloseTo(1 / 21);
  });
  it('prefers an item found by both sides over one ranked first by only one', () => {
    expect(rrf([2, 2], [1, 1], 20)).toBeGreaterThan(rrf([1, null], [1, 1], 20));
  });
});

describe('usage boost', () => {
  it('is 1 for a skill used once and grows with the log of further uses', () => {
    expect(usageFactor(1)).toBe(1);
    expect(usageFactor(0)).toBe(1);
    const values = [1, 2, 3, 5, 9, 17].map((n) => usageFactor(n));
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!);
    // log-scaled: each doubling of extra uses adds the same
    expect(usageFactor(3) - usageFactor(2)).toBeCloseTo(usageFactor(2) - usageFactor(1) - (RANKING.usageBoost - RANKING.usageBoost * Math.log2(3) + RANKING.usageBoost), 5);
  });
  it('is capped', () => {
    expect(usageFactor(1e9)).toBe(RANKING.usageCap);
  });
});

describe('recency decay', () => {
  it('is 1 when used now, half-way to the floor after one half-life, and never below the floor', () => {
    expect(recencyFactor(now, now)).toBe(1);
    expect(recencyFactor(daysAgo(RANKING.halfLifeDays), now)).toBeCloseTo(RANKING.recencyFloor + (1 - RANKING.recencyFloor) / 2);
    expect(recencyFactor(daysAgo(100_000), now)).toBeCloseTo(RANKING.recencyFloor);
    expect(recencyFactor(daysAgo(-5), now)).toBe(1); // clock skew: a future time counts as now
  });
  it('falls monotonically with age', () => {
    const v = [0, 1, 10, 60, 365].map((d) => recencyFactor(daysAgo(d), now));
    for (let i = 1; i < v.length; i++) expect(v[i]!).toBeLessThan(v[i - 1]!);
  });
});

describe('rank', () => {
  it('orders by fused relevance, normalised so first everywhere scores 1', () => {
    const r = rank([cand('b', { vectorRank: 2, textRank: 2 }), cand('a', { vectorRank: 1, textRank: 1 }), cand('c', { vectorRank: 3 })], now);
    expect(r.map((x) => x.id)).toEqual(['a', 'b', 'c']);
    expect(r[0]!.relevance).toBeCloseTo(1);
    expect(r[0]!.score).toBeCloseTo(1);
  });
  it('normalises by the rankings present, so a provider without re-ranking is not penalised', () => {
    const r = rank([cand('a', { vectorRank: 1, textRank: 1 })], now);
    expect(r[0]!.relevance).toBeCloseTo(1);
    const r3 = rank([cand('a', { vectorRank: 1, textRank: 1 }), cand('b', { alignRank: 1 })], now);
    expect(r3[0]!.relevance).toBeLessThan(1);
  });
  it('lets usage lift a slightly less relevant skill, and staleness sink one', () => {
    const used = rank([cand('fresh', { vectorRank: 1, textRank: 2 }), cand('popular', { vectorRank: 2, textRank: 1, usageCount: 50 })], now);
    expect(used[0]!.id).toBe('popular');
    const stale = rank([cand('old', { vectorRank: 1, textRank: 1, lastUsedAt: daysAgo(400) }), cand('new', { vectorRank: 2, textRank: 2 })], now);
    expect(stale[0]!.id).toBe('new');
  });
  it('breaks ties by vector rank, then id, so results are stable', () => {
    const r = rank([cand('b', { textRank: 1 }), cand('a', { textRank: 1 }), cand('c', { vectorRank: 1 })], now);
    expect(r.map((x) => x.id)).toEqual(['c', 'a', 'b']);
  });
  it('gives 0 to candidates found by nothing and handles an empty list', () => {
    expect(rank([], now)).toEqual([]);
    expect(rank([cand('x')], now)[0]!.score).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { efSearchFor, SEARCH_EFFORT } from '../../src/skills/searchEffort.js';

describe('efSearchFor', () => {
  it('keeps the base effort for small graphs and for sizes it cannot trust', () => {
    for (const n of [0, 1, 500, 9_999, 10_000, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(efSearchFor(n)).toBe(SEARCH_EFFORT.base);
  });

  it('searches about four times harder at 100k, where the bench needed ef_search 400 for 95% recall', () => {
    expect(efSearchFor(100_000)).toBeGreaterThanOrEqual(390);
    expect(efSearchFor(100_000)).toBeLessThanOrEqual(410);
  });

  it('grows with the graph and never decreases', () => {
    let last = 0;
    for (let n = 0; n <= 5_000_000; n += 7_919) {
      const ef = efSearchFor(n);
      expect(ef).toBeGreaterThanOrEqual(last);
      expect(Number.isInteger(ef)).toBe(true);
      last = ef;
    }
  });

  it('stops at the 1000 pgvector allows', () => {
    expect(efSearchFor(10_000_000)).toBe(1000);
    expect(efSearchFor(1e12)).toBe(1000);
  });

  it('follows the constants it is given', () => {
    const c = { base: 40, baseSize: 1_000, exponent: 1, max: 500 };
    expect(efSearchFor(1_000, c)).toBe(40);
    expect(efSearchFor(2_000, c)).toBe(80);
    expect(efSearchFor(1_000_000, c)).toBe(500);
  });
});

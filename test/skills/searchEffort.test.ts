import { describe, expect, it } from 'vitest';
import { CALIBRATION, calibrationDue, chooseEffort, efSearchFor, recallOf, SEARCH_EFFORT, worstRecall, type Calibration } from '../../src/skills/searchEffort.js';

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
    expect(efSearchFor(1_000, undefined, c)).toBe(40);
    expect(efSearchFor(2_000, undefined, c)).toBe(80);
    expect(efSearchFor(1_000_000, undefined, c)).toBe(500);
  });
});

const measured = (over: Partial<Calibration> = {}): Calibration => ({ ef: 200, recall: 0.98, graphSize: 100_000, samples: 100, at: new Date('2026-11-26T10:00:00Z'), ...over });

describe('efSearchFor with a calibration', () => {
  it('uses the measured effort for the graph it was measured on, below or above the size prior', () => {
    expect(efSearchFor(100_000, measured())).toBe(200);
    expect(efSearchFor(100_000, measured({ ef: 560 }))).toBe(560);
  });

  it('grows the measured effort as the graph grows, by the prior\'s power', () => {
    expect(efSearchFor(200_000, measured())).toBe(Math.round(200 * 2 ** SEARCH_EFFORT.exponent));
    expect(efSearchFor(10_000_000, measured())).toBe(1000);
  });

  it('keeps the measured effort when the graph shrinks, and the base effort once it is small', () => {
    expect(efSearchFor(60_000, measured())).toBe(200);
    expect(efSearchFor(9_000, measured({ ef: 560 }))).toBe(SEARCH_EFFORT.base);
  });

  it('never searches a graph above the base size less hard than the base effort, whatever was measured', () => {
    expect(efSearchFor(60_000, measured({ ef: 60 }))).toBe(SEARCH_EFFORT.base);
    expect(efSearchFor(100_000, measured({ ef: 1 }))).toBe(SEARCH_EFFORT.base);
    for (let n = SEARCH_EFFORT.baseSize + 1; n < 2_000_000; n += 15_013) {
      for (const ef of [1, 40, 100, 280, 1000]) expect(efSearchFor(n, measured({ ef, graphSize: 50_000 }))).toBeGreaterThanOrEqual(efSearchFor(SEARCH_EFFORT.baseSize));
    }
  });

  it('ignores a calibration without a graph size', () => {
    expect(efSearchFor(100_000, measured({ graphSize: 0 }))).toBe(efSearchFor(100_000));
  });
});

describe('calibrationDue', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  const enough = CALIBRATION.sampleSize;

  it('waits for a graph larger than the base effort serves and for enough queries', () => {
    expect(calibrationDue({ graphSize: CALIBRATION.minGraphSize, samples: 1000, now })).toBe(false);
    expect(calibrationDue({ graphSize: 50_000, samples: enough - 1, now })).toBe(false);
    expect(calibrationDue({ graphSize: Number.NaN, samples: enough, now })).toBe(false);
    expect(calibrationDue({ graphSize: 50_000, samples: enough, now })).toBe(true);
  });

  it('measures again when the graph has grown or shrunk past the drift, or the measurement is old', () => {
    const c = measured();
    expect(calibrationDue({ graphSize: 110_000, calibration: c, samples: enough, now })).toBe(false);
    expect(calibrationDue({ graphSize: 100_000 * CALIBRATION.drift + 1, calibration: c, samples: enough, now })).toBe(true);
    expect(calibrationDue({ graphSize: 100_000 / CALIBRATION.drift - 1, calibration: c, samples: enough, now })).toBe(true);
    expect(calibrationDue({ graphSize: 100_000, calibration: c, samples: enough, now: new Date(c.at.getTime() + CALIBRATION.maxAgeMs + 1) })).toBe(true);
    expect(calibrationDue({ graphSize: 100_000, calibration: c, samples: enough - 1, now: new Date(c.at.getTime() + CALIBRATION.maxAgeMs + 1) })).toBe(false);
    expect(calibrationDue({ graphSize: 100_000, calibration: measured({ graphSize: 0 }), samples: enough, now })).toBe(true);
  });
});

describe('recallOf', () => {
  it('counts the exact neighbours found, over all queries', () => {
    expect(recallOf([['a', 'b', 'c'], ['d', 'e', 'f']], [['c', 'a', 'x'], ['d', 'e', 'f']])).toBeCloseTo(5 / 6);
    expect(recallOf([['a', 'b']], [[]])).toBe(0);
    expect(recallOf([['a', 'b']], [])).toBe(0);
  });

  it('is 1 when there was nothing to find', () => {
    expect(recallOf([], [])).toBe(1);
    expect(recallOf([[]], [['a']])).toBe(1);
  });
});

describe('worstRecall', () => {
  // Workspace "easy" asks 8 queries the index answers perfectly; "hard" 2 where it finds one of three.
  const groups = [...Array<string>(8).fill('easy'), 'hard', 'hard'];
  const exact = groups.map((_, i) => [`${i}a`, `${i}b`, `${i}c`]);
  const found = exact.map((ids, i) => (groups[i] === 'hard' ? [ids[0]!, 'x', 'y'] : ids));

  it('judges each workspace with enough queries on its own, so one workspace\'s easy queries cannot hide another\'s misses', () => {
    expect(recallOf(exact, found)).toBeCloseTo(26 / 30);
    expect(worstRecall(groups, exact, found, 2)).toBeCloseTo(1 / 3);
  });

  it('pools a workspace with too few queries to judge alone with the rest', () => {
    expect(worstRecall(groups, exact, found, 3)).toBeCloseTo(26 / 30);
    expect(worstRecall(groups, exact, found, 100)).toBeCloseTo(26 / 30);
  });

  it('is the pooled recall when every query is of one workspace', () => {
    const one = groups.map(() => 'only');
    expect(worstRecall(one, exact, found, 1)).toBe(recallOf(exact, found));
  });
});

describe('chooseEffort', () => {
  const ladder = CALIBRATION.ladder;
  /** A graph where recall reaches 1 at `full` and falls off below it. */
  const graph = (full: number) => {
    const asked: number[] = [];
    return { asked, measure: async (ef: number) => (asked.push(ef), Math.min(1, ef / full)) };
  };

  it('finds the smallest effort of the ladder that reaches the target, in a few measurements', async () => {
    for (const full of [30, 100, 190, 250, 420, 900]) {
      const g = graph(full);
      const c = await chooseEffort(ladder, 0.97, g.measure);
      const want = ladder.find((ef) => Math.min(1, ef / full) >= 0.97)!;
      expect(c.ef).toBe(want);
      expect(c.recall).toBeGreaterThanOrEqual(0.97);
      expect(g.asked.length).toBeLessThanOrEqual(Math.ceil(Math.log2(ladder.length + 1)));
      expect(c.tried.map((t) => t.ef)).toEqual(g.asked);
    }
  });

  it('answers the ladder\'s top, with its recall, when nothing reaches the target', async () => {
    const c = await chooseEffort(ladder, 0.97, async (ef) => ef / 4000);
    expect(c).toMatchObject({ ef: 1000, recall: 0.25 });
  });

  it('refuses an empty ladder', async () => {
    await expect(chooseEffort([], 0.9, async () => 1)).rejects.toThrow(/at least one/);
  });
});

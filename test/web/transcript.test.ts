/**
 * The dashboard's transcript store and reconnect delays, in Node: whatever
 * order and repetition events arrive in, the page shows each seq once, in
 * order (web/src/stream/transcript.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../src/core/api.js';
import { backoffDelay } from '../../web/src/stream/backoff.js';
import { Transcript } from '../../web/src/stream/transcript.js';

const ev = (seq: number): TaskEvent => ({ seq, at: new Date(0).toISOString(), attempt: 1, stream: 'stdout', kind: 'text', text: `line ${seq}`, raw: `line ${seq}` });
const seqs = (t: Transcript) => t.events().map((e) => e.seq);

describe('Transcript', () => {
  it('appends live lines and drops a batch that is delivered again', () => {
    const t = new Transcript();
    expect(t.add([ev(1), ev(2), ev(3)])).toBe(3);
    expect(t.add([ev(2), ev(3), ev(4)])).toBe(1);
    expect(seqs(t)).toEqual([1, 2, 3, 4]);
    expect(t.lastSeq).toBe(4);
    expect(t.duplicates).toBe(2);
  });

  it('puts a late line in its place', () => {
    const t = new Transcript();
    t.add([ev(1), ev(2), ev(5)]);
    t.add([ev(4), ev(3)]);
    expect(seqs(t)).toEqual([1, 2, 3, 4, 5]);
  });

  it('tells listeners only about new lines, and keeps the same snapshot until then', () => {
    const t = new Transcript();
    let calls = 0;
    t.subscribe(() => calls++);
    t.add([ev(1)]);
    const snap = t.events();
    t.add([ev(1)]);
    expect(calls).toBe(1);
    expect(t.events()).toBe(snap);
    t.add([ev(2)]);
    expect(t.events()).not.toBe(snap);
  });

  it('holds every seq once, in order, whatever batches arrive in whatever order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 30 }), { maxLength: 30 }), (batches) => {
        const t = new Transcript();
        for (const b of batches) t.add(b.map(ev));
        const expected = [...new Set(batches.flat())].sort((a, b) => a - b);
        expect(seqs(t)).toEqual(expected);
        expect(t.lastSeq).toBe(expected.at(-1) ?? 0);
      }),
    );
  });
});

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with half of it random', () => {
    const o = { baseMs: 500, maxMs: 15_000 };
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, () => 1, o))).toEqual([500, 1000, 2000, 4000]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, () => 0, o))).toEqual([250, 500, 1000, 2000]);
    expect(backoffDelay(10, () => 1, o)).toBe(15_000);
    expect(backoffDelay(1000, () => 0.5, o)).toBe(11_250);
  });
});

import { describe, expect, it } from 'vitest';
import { createPassRunner } from '../../src/core/passRunner.js';

describe('pass runner', () => {
  it('runs one pass at a time and folds the kicks during a pass into one more pass', async () => {
    let passes = 0;
    let release: () => void = () => {};
    const runner = createPassRunner(
      async () => {
        passes++;
        if (passes === 1) await new Promise<void>((r) => (release = r));
      },
      () => {},
    );
    runner.kick();
    runner.kick();
    runner.kick();
    expect(passes).toBe(1);
    release();
    await runner.idle();
    expect(passes).toBe(2);
  });

  it('reports a failing pass and runs again on the next kick', async () => {
    const errors: unknown[] = [];
    let passes = 0;
    const runner = createPassRunner(async () => {
      passes++;
      if (passes === 1) throw new Error('boom');
    }, (err) => errors.push(err));
    runner.kick();
    await runner.idle();
    runner.kick();
    await runner.idle();
    expect(passes).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('starts no pass once stopped', async () => {
    let passes = 0;
    const runner = createPassRunner(async () => {
      passes++;
    }, () => {});
    runner.stop();
    runner.kick();
    await runner.idle();
    expect(passes).toBe(0);
    expect(runner.stopped).toBe(true);
  });
});

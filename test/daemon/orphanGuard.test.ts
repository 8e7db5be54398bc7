/**
 * The orphan guard's bookkeeping, with real process groups: what it was told
 * is live when its pipe closes is stopped, and only that.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { OrphanGuard } from '../../src/daemon/orphanGuard.js';
import { signalGroup } from '../../src/daemon/processGroup.js';
import { until } from '../helpers/wait.js';

const groups: number[] = [];
/** A process group of its own, sleeping. */
function sleeper(): number {
  const p = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  p.unref();
  groups.push(p.pid!);
  return p.pid!;
}
afterEach(() => {
  for (const g of groups.splice(0)) signalGroup(g, 'SIGKILL');
});

describe('the orphan guard', () => {
  it('stops the groups still listed when its pipe closes, and leaves the removed ones alone', async () => {
    const guard = new OrphanGuard(200);
    guard.start();
    const [a, b, c, ab] = [sleeper(), sleeper(), sleeper(), sleeper()];
    for (const g of [a, b, c, ab]) guard.add(g);
    guard.remove(b);
    guard.remove(999_999_999); // never listed: no effect on the others
    guard.close();
    await until(() => !signalGroup(a, 0) && !signalGroup(c, 0) && !signalGroup(ab, 0), 'the listed groups to be stopped', 5_000);
    expect(signalGroup(b, 0)).toBe(true);
  });

  it('does nothing when every group ended before it closes', async () => {
    const guard = new OrphanGuard(200);
    guard.start();
    const a = sleeper();
    guard.add(a);
    guard.remove(a);
    const pid = guard.pid!;
    guard.close();
    await until(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the guard to exit', 5_000);
    expect(signalGroup(a, 0)).toBe(true);
  });
});

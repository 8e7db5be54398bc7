/**
 * Stopping a run's whole process group: the agent and everything it spawned.
 * Agents run detached (their own group, pgid = pid), so one signal to -pgid
 * reaches grandchildren that a kill of the pid alone would orphan.
 */

export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nobody left in the group
  }
}

export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/** Resolves true once no process is left in the group, false if some remain after `timeoutMs`. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/**
 * SIGTERM to the group, SIGKILL to whatever is left after `graceMs`, then
 * wait until the group is empty. Answers whether it is.
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<boolean> {
  if (!signalGroup(pgid, 'SIGTERM')) return true;
  if (await waitGroupGone(pgid, graceMs)) return true;
  signalGroup(pgid, 'SIGKILL');
  return waitGroupGone(pgid, 2_000);
}

import type { SwitchyardClient } from '../../src/client/index.js';

/** Polls until `check` answers something truthy, or fails with `what` after `timeoutMs`. */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<NonNullable<T>> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates a one-attempt task and waits for it to fail; answers its id. */
export async function failTask(c: SwitchyardClient, assignedAgent: string, prompt: string, opts: { model?: string; timeoutMs?: number } = {}): Promise<string> {
  const t = await c.tasks.create({ assignedAgent, prompt, maxAttempts: 1, ...(opts.model ? { model: opts.model } : {}) });
  await until(async () => (await c.tasks.get(t.id)).status === 'failed', `task ${t.id} to fail`, opts.timeoutMs ?? 20_000);
  return t.id;
}

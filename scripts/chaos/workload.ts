/**
 * The work of a chaos run: tasks of the fake agent with random output,
 * durations and failures, created over the REST API of either server. The
 * whole behaviour of a task is in its prompt (the fake agent's options), so
 * the checks can read what was asked from the task itself.
 */
import { ApiError, type SwitchyardClient } from '../../src/client/index.js';

/** A small seeded generator (mulberry32), so a run can be repeated with --seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Script = 'ok' | 'flaky' | 'fails' | 'permanent';

export interface TaskPlan {
  index: number;
  prompt: string;
  maxAttempts: number;
  script: Script;
}

/** What a task's prompt asks of the fake agent (read back by the checks). */
export function scriptOf(prompt: string): { script: Script; failUntil: number } {
  const m = /--fail-until (\d+)/.exec(prompt);
  if (m) return { script: 'flaky', failUntil: Number(m[1]) };
  if (/--exit 126\b/.test(prompt)) return { script: 'permanent', failUntil: 0 };
  if (/--exit 1\b/.test(prompt)) return { script: 'fails', failUntil: 0 };
  return { script: 'ok', failUntil: 0 };
}

export function planTasks(n: number, random: () => number): TaskPlan[] {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const plans: TaskPlan[] = [];
  for (let i = 0; i < n; i++) {
    // Output: a handful to a few dozen lines at a random pace, sometimes in bursts; a few tasks print
    // a lot quickly, and a few go quiet for seconds (an agent waiting on its model: a killed daemon's
    // orphan would outlive the lease).
    const kind = random();
    const lines = kind < 0.08 ? int(100, 300) : int(0, 30);
    const rate = kind < 0.08 ? (random() < 0.5 ? 0 : int(200, 500)) : random() < 0.3 ? 0 : int(15, 120);
    const sleep = kind > 0.94 ? int(4_000, 10_000) : int(0, 2_000);
    const opts = [`--lines ${lines}`, `--sleep ${sleep}`];
    if (rate > 0) opts.push(`--rate ${rate}`);
    if (random() < 0.2) opts.push(`--pause-every ${int(3, 10)}:${int(100, 600)}`);
    let maxAttempts = int(2, 4);
    let script: Script = 'ok';
    const r = random();
    if (r < 0.15) {
      script = 'flaky'; // retryable failures, then success within the attempts allowed
      opts.push(`--fail-until ${int(1, maxAttempts - 1)}`);
    } else if (r < 0.25) {
      script = 'fails'; // retryable (agent_error) every time: uses up its attempts
      opts.push('--exit 1');
    } else if (r < 0.3) {
      script = 'permanent'; // exit 126 is missing_executable: never retried
      opts.push('--exit 126');
    } else if (r < 0.35) {
      maxAttempts = 1;
    }
    plans.push({ index: i, prompt: `chaos task ${i}: ${opts.join(' ')}`, maxAttempts, script });
  }
  return plans;
}

/**
 * Creates every task, a few requests at a time, alternating servers. A
 * request that fails (a server being restarted) is tried again on the next
 * server; if the first one had stored it before dying, the task exists
 * twice — two tasks, each checked on its own — and the report says so.
 */
export async function createTasks(plans: TaskPlan[], clients: SwitchyardClient[], onCreated: () => void, concurrency = 4): Promise<{ created: number; retried: number }> {
  let next = 0;
  let created = 0;
  let retried = 0;
  const worker = async (w: number) => {
    for (;;) {
      const i = next++;
      if (i >= plans.length) return;
      const p = plans[i]!;
      for (let tries = 0; ; tries++) {
        const client = clients[(i + w + tries) % clients.length]!;
        try {
          await client.tasks.create({ assignedAgent: 'fake', prompt: p.prompt, maxAttempts: p.maxAttempts, metadata: { chaosIndex: String(p.index) } });
          created++;
          onCreated();
          break;
        } catch (err) {
          if (err instanceof ApiError && err.status < 500) throw err;
          if (tries >= 100) throw err;
          retried++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { created, retried };
}

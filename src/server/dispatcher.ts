/**
 * Pushes queued work to runtimes. Woken by the bus (a task queued, a slot
 * freed, a runtime connected or recovered) and by a slow safety sweep; never
 * more than one pass at a time per process, and a wake-up during a pass
 * causes one more pass, so no signal is lost.
 */
import type { Logger } from 'pino';
import { coerceError } from '../core/errors.js';
import { createPassRunner } from '../core/passRunner.js';
import { pickWeighted, type RoundRobinState } from '../core/scheduling.js';
import { claimTasks } from '../store/claim.js';
import type { Db } from '../store/db.js';
import type { Task } from '../core/api.js';
import type { AssignFrame } from '../core/protocol.js';
import type { Bus } from './bus.js';
import type { DaemonHub } from './daemonHub.js';
import type { Metrics } from './metrics.js';

export interface DispatcherDeps {
  db: Db;
  bus: Bus;
  hub: DaemonHub;
  log: Logger;
  claimLeaseMs: number;
  publicUrl: () => string;
  /** Milliseconds between safety sweeps (run_after coming due, missed signals). */
  sweepMs?: number;
  metrics?: Metrics;
  /** The skill library's part of an assignment: suggestions with their descriptions, and whether the prompt includes them. */
  prepareAssign?: (t: Task) => Promise<{ suggestions: AssignFrame['suggestions']; injectSuggestions: boolean }>;
}

export interface Dispatcher {
  kick(): void;
  /** Resolves when no pass is running or pending (tests, shutdown). */
  idle(): Promise<void>;
  stop(): void;
}

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { db, bus, hub, log } = deps;
  const rr: RoundRobinState = new Map();
  const runner = createPassRunner(pass, (err) => log.error({ err: coerceError(err) }, 'dispatch pass failed'));

  const unsubscribe = bus.subscribe('dispatch', () => runner.kick());
  const sweep = setInterval(() => runner.kick(), deps.sweepMs ?? 1_000);
  sweep.unref();

  async function pass(): Promise<void> {
    const exhausted = new Set<string>();
    for (;;) {
      const candidates = hub.eligible().filter((e) => !exhausted.has(e.conn.id));
      if (candidates.length === 0) return;
      const id = pickWeighted(candidates.map((c) => ({ id: c.conn.id, weight: c.free })), rr);
      const chosen = candidates.find((c) => c.conn.id === id);
      if (!chosen) return;
      // One task at a time while several runtimes compete (spreads work by
      // weight); a lone runtime takes what fits in one claim.
      const slots = candidates.length > 1 ? 1 : chosen.free;
      const claimStart = performance.now();
      const claimed = await claimTasks(db, {
        daemonId: chosen.conn.id,
        workspaces: chosen.conn.workspaces,
        agents: chosen.agents,
        slots,
        leaseMs: deps.claimLeaseMs,
      });
      const claimedAt = performance.now();
      deps.metrics?.claimed(claimedAt - claimStart);
      if (claimed.length === 0) {
        exhausted.add(chosen.conn.id);
        continue;
      }
      for (const c of claimed) {
        const t = c.task;
        const taskToken = await hub.taskToken(t.id, t.workspaceId);
        const previous = await db.query<{ daemon_id: string | null; status: string; failure_class: string | null; failure_reason: string | null; stderr_tail: string | null }>(
          'SELECT daemon_id, status, failure_class, failure_reason, stderr_tail FROM task_runs WHERE task_id = $1 AND attempt < $2 ORDER BY attempt DESC LIMIT 1',
          [t.id, t.attempt],
        );
        const prev = previous.rows[0];
        let skills: { suggestions: AssignFrame['suggestions']; injectSuggestions: boolean } = { suggestions: t.suggestions, injectSuggestions: false };
        try {
          if (deps.prepareAssign) skills = await deps.prepareAssign(t);
        } catch (err) {
          // Suggestions are a help, never a reason not to run the task.
          log.warn({ err: coerceError(err), taskId: t.id }, 'preparing skill suggestions failed; assigning without them');
        }
        hub.assign(chosen.conn, c, {
          taskId: t.id,
          attempt: t.attempt,
          workspaceId: t.workspaceId,
          agent: t.assignedAgent,
          model: t.model,
          prompt: t.prompt,
          seqStart: c.seqStart,
          resumeSessionId: t.sessionId,
          previousDaemonId: prev?.daemon_id ?? null,
          answer: t.answer,
          previousFailure: prev?.status === 'failed' ? failureSummary(prev.failure_class, prev.failure_reason, prev.stderr_tail) : null,
          repo: t.repo,
          baseRef: t.baseRef,
          tokenBudget: t.tokenBudget,
          taskToken,
          serverUrl: deps.publicUrl(),
          suggestions: skills.suggestions,
          injectSuggestions: skills.injectSuggestions,
          metadata: t.metadata,
        });
        deps.metrics?.dispatched(c.queuedMs + performance.now() - claimedAt);
        bus.publish('task', { id: t.id, workspaceId: t.workspaceId, status: 'claimed' });
        log.debug({ taskId: t.id, daemonId: chosen.conn.id, attempt: t.attempt }, 'assigned');
      }
    }
  }

  return {
    kick: () => runner.kick(),
    idle: () => runner.idle(),
    stop() {
      runner.stop();
      clearInterval(sweep);
      unsubscribe();
    },
  };
}

/** What a retry tells the agent about the failed attempt: the class, the reason and the last stderr lines. */
export function failureSummary(cls: string | null, reason: string | null, stderrTail: string | null): string {
  const lines = (stderrTail ?? '')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-5);
  return [`${cls ?? 'agent_error'}: ${reason ?? 'the run failed'}`, ...(lines.length ? ['last stderr lines:', ...lines] : [])].join('\n').slice(0, 4000);
}

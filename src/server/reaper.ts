/**
 * The server's clock-driven duties, once a second:
 * - claims whose lease ran out without a spawn report go back to the queue
 *   (the attempt counted: the runtime may have started it);
 * - runs whose runtime stopped renewing its lease are lost (retried or failed);
 * - failed tasks whose backoff has passed are re-queued (the retry promoter);
 * - runtimes silent for too long are marked offline (their server died).
 * Every step is a guarded UPDATE, so two servers doing it at once is harmless.
 */
import type { Logger } from 'pino';
import type { Task } from '../core/api.js';
import { coerceError } from '../core/errors.js';
import type { Db } from '../store/db.js';
import { refreshQueueReasons } from '../store/claim.js';
import { resumePreference, transition } from '../store/tasks.js';
import type { Bus } from './bus.js';
import type { Metrics } from './metrics.js';
import { expireClaim, recordLost } from './runReports.js';

export interface ReaperDeps {
  db: Db;
  bus: Bus;
  log: Logger;
  /** A runtime unseen for this long is offline. */
  daemonSilenceMs: number;
  intervalMs?: number;
  metrics?: Metrics;
}

export interface Reaper {
  runOnce(): Promise<number>;
  stop(): void;
}

export function createReaper(deps: ReaperDeps): Reaper {
  const { db, bus, log } = deps;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    runOnce()
      .catch((err: unknown) => log.error({ err: coerceError(err) }, 'reaper pass failed'))
      .finally(() => {
        busy = false;
      });
  }, deps.intervalMs ?? 1_000);
  timer.unref();

  const announce = (t: Task | undefined) => {
    if (!t) return;
    bus.publish('task', { id: t.id, workspaceId: t.workspaceId, status: t.status });
    if (t.status === 'queued') bus.publish('dispatch', {});
  };

  async function runOnce(): Promise<number> {
    let changed = 0;
    const expired = await db.query<{ id: string; daemon_id: string; attempt: number; status: string }>(
      `SELECT id, daemon_id, attempt, status FROM tasks
       WHERE status IN ('claimed', 'executing') AND lease_expires_at < now()
       ORDER BY lease_expires_at LIMIT 500`,
    );
    for (const r of expired.rows) {
      const t = await db.tx((q) =>
        r.status === 'claimed'
          ? expireClaim(q, r.id, r.daemon_id, r.attempt, 'lease expired: the runtime did not report starting it in time')
          : recordLost(q, r.id, r.daemon_id, r.attempt, 'reaper', 'its runtime stopped reporting'),
      );
      if (t) {
        changed++;
        log.warn({ taskId: t.id, daemonId: r.daemon_id, attempt: r.attempt, was: r.status, now: t.status }, 'lease expired');
        if (r.status === 'executing') deps.metrics?.runEnded({ agent: t.assignedAgent, outcome: 'failed', failureClass: 'runtime_lost' });
        announce(t);
      }
    }

    const due = await db.query<{ id: string }>(
      `SELECT id FROM tasks WHERE status = 'failed' AND run_after IS NOT NULL AND run_after <= now() AND attempt < max_attempts
       ORDER BY run_after LIMIT 500`,
    );
    for (const r of due.rows) {
      const done = await db.tx(async (q) =>
        transition(q, { taskId: r.id, from: ['failed'], to: 'queued', actor: 'promoter', reason: 'retry after backoff', set: { run_after: null, status_reason: null, ...(await resumePreference(q, r.id)) } }),
      );
      if (done) {
        changed++;
        log.info({ taskId: done.task.id, attempt: done.task.attempt, maxAttempts: done.task.maxAttempts }, 'retry due; re-queued');
        announce(done.task);
      }
    }
    if (due.rows.length > 0) await refreshQueueReasons(db, due.rows.map((r) => r.id));

    const silent = await db.query<{ id: string }>(
      `UPDATE daemons SET state = 'offline', updated_at = now()
       WHERE state = 'online' AND last_seen_at < now() - make_interval(secs => $1::double precision / 1000)
       RETURNING id`,
      [deps.daemonSilenceMs],
    );
    if (silent.rows.length > 0) {
      await refreshQueueReasons(db);
      for (const r of silent.rows) bus.publish('daemon', { id: r.id });
    }
    return changed;
  }

  return {
    runOnce,
    stop() {
      clearInterval(timer);
    },
  };
}

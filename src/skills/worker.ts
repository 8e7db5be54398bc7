/**
 * Runs the skill jobs (skill_jobs) in the background: woken at once when a
 * job is queued in this process, and by a slow timer for retries coming due
 * and jobs queued by other servers. One pass at a time; a wake-up during a
 * pass causes one more, so none is lost. A failed job is due again after
 * exponential backoff with full jitter (src/core/retryPolicy.ts), and fails
 * for good only after its attempts are spent.
 */
import type { Logger } from 'pino';
import { coerceError } from '../core/errors.js';
import { createPassRunner } from '../core/passRunner.js';
import { backoffDelay, type BackoffSettings } from '../core/retryPolicy.js';
import type { Db } from '../store/db.js';
import { claimSkillJobs, failSkillJob, finishSkillJob, type SkillJob } from '../store/skillJobs.js';

export interface SkillWorkerOptions {
  db: Db;
  log: Logger;
  run(job: SkillJob): Promise<void>;
  pollMs?: number;
  leaseMs?: number;
  backoff?: BackoffSettings;
}

export interface SkillWorker {
  kick(): void;
  /** Resolves when no pass is running (tests, shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function createSkillWorker(o: SkillWorkerOptions): SkillWorker {
  const backoff = o.backoff ?? { baseMs: 2_000, capMs: 600_000 };
  const leaseMs = o.leaseMs ?? 120_000;
  const runner = createPassRunner(pass, (err) => o.log.error({ err: coerceError(err) }, 'skill job pass failed'));
  const timer = setInterval(() => runner.kick(), o.pollMs ?? 2_000);
  timer.unref();

  async function pass(): Promise<void> {
    while (!runner.stopped) {
      const jobs = await claimSkillJobs(o.db, 8, leaseMs);
      if (jobs.length === 0) return;
      for (const job of jobs) {
        const jlog = o.log.child({ skillJob: job.id, kind: job.kind, workspaceId: job.workspaceId, taskId: job.taskId, attempt: job.attempts });
        try {
          await o.run(job);
          await finishSkillJob(o.db, job.id);
        } catch (err) {
          const e = coerceError(err);
          const last = job.attempts >= job.maxAttempts;
          const delay = last ? null : Math.max(50, backoffDelay(job.attempts, Math.random(), backoff));
          jlog.warn({ err: e, attempt: `${job.attempts} of ${job.maxAttempts}`, retryInMs: delay }, last ? 'skill job failed for good' : 'skill job failed; will retry');
          await failSkillJob(o.db, job, e.message, delay).catch((err2: unknown) => jlog.error({ err: coerceError(err2) }, 'recording a skill job failure failed'));
        }
      }
    }
  }

  return {
    kick: () => runner.kick(),
    idle: () => runner.idle(),
    async stop() {
      runner.stop();
      clearInterval(timer);
      await runner.idle();
    },
  };
}

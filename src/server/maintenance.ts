/**
 * The maintenance job: creates partitions ahead, drops expired transcripts,
 * folds finished tasks into daily metrics before deleting them, and trims
 * old aggregates and health samples. It runs inside the server on a
 * schedule (`orchestrator.retention.interval`) and on demand
 * (`switchyard maintenance run`); with several servers on one PostgreSQL an
 * advisory lock lets exactly one run at a time — the others skip.
 */
import type { Logger } from 'pino';
import type { Orchestrator } from '../core/config/index.js';
import { coerceError } from '../core/errors.js';
import type { Db } from '../store/db.js';
import { exclusively } from '../store/exclusive.js';
import { deleteFinishedTasks, deleteOldHealth, deleteOldMetrics, dropExpiredEventPartitions, foldDailyMetrics, oldestFinished, utcDay } from '../store/maintenance.js';
import { ensureEventPartitions } from '../store/partitions.js';

const LOCK_KEY = 727_274_002;
const DAY = 86_400_000;

export interface MaintenanceReport {
  ran: boolean;
  /** Why it did not run (another server holds the lock). */
  skipped?: string;
  createdPartitions: string[];
  droppedPartitions: string[];
  foldedRows: number;
  deletedTasks: number;
  deletedMetrics: number;
  deletedHealth: number;
  /** Further steps contributed by other parts (skills archive, audit partitions). */
  extra: Record<string, unknown>;
  tookMs: number;
}

/** A step another part of the server adds to maintenance (archiving skills, rotating audit partitions). */
export type MaintenanceStep = (now: Date) => Promise<Record<string, unknown>>;

export async function runMaintenance(db: Db, config: Orchestrator, now = new Date(), steps: Record<string, MaintenanceStep> = {}): Promise<MaintenanceReport> {
  const started = Date.now();
  const empty: MaintenanceReport = { ran: false, createdPartitions: [], droppedPartitions: [], foldedRows: 0, deletedTasks: 0, deletedMetrics: 0, deletedHealth: 0, extra: {}, tookMs: 0 };
  const work = async (): Promise<MaintenanceReport> => {
    const r = config.retention;
    const report: MaintenanceReport = { ...empty, ran: true, extra: {} };
    report.createdPartitions = await ensureEventPartitions(db, now);
    report.droppedPartitions = await dropExpiredEventPartitions(db, utcDay(now.getTime() - r.transcripts));
    // Whole days only: a day's tasks are folded while all of them exist, then deleted together.
    const taskCutoff = utcDay(now.getTime() - r.tasks);
    const oldest = await oldestFinished(db);
    if (oldest && oldest < taskCutoff) report.foldedRows += await foldDailyMetrics(db, utcDay(oldest), taskCutoff);
    report.foldedRows += await foldDailyMetrics(db, utcDay(now.getTime() - 2 * DAY), new Date(utcDay(now).getTime() + DAY));
    report.deletedTasks = await deleteFinishedTasks(db, taskCutoff);
    report.deletedMetrics = await deleteOldMetrics(db, utcDay(now.getTime() - r.metrics));
    report.deletedHealth = await deleteOldHealth(db, new Date(now.getTime() - r.health));
    for (const [name, step] of Object.entries(steps)) report.extra[name] = await step(now);
    report.tookMs = Date.now() - started;
    return report;
  };
  const done = await exclusively(db, LOCK_KEY, work);
  return done.ran ? done.value : { ...empty, skipped: 'another server is running maintenance', tookMs: Date.now() - started };
}

export interface MaintenanceScheduler {
  runNow(): Promise<MaintenanceReport>;
  stop(): void;
}

export function scheduleMaintenance(db: Db, config: Orchestrator, log: Logger, steps: Record<string, MaintenanceStep> = {}): MaintenanceScheduler {
  let running: Promise<MaintenanceReport> | undefined;
  const runNow = () => {
    running ??= runMaintenance(db, config, new Date(), steps).finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = () =>
    void runNow()
      .then((r) => r.ran && log.info({ ...r, extra: undefined, ...r.extra }, 'maintenance done'))
      .catch((err: unknown) => log.error({ err: coerceError(err) }, 'maintenance failed'));
  const first = setTimeout(tick, 5_000);
  first.unref();
  const timer = setInterval(tick, config.retention.interval);
  timer.unref();
  return {
    runNow,
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}

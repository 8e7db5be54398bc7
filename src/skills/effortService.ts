/**
 * The search effort each embedding model's queries use, kept current: the
 * model's state (graph size, last calibration) read from the database at
 * most once a minute, the queries it served kept for its next calibration,
 * and that calibration started in the background when it is due (the rules
 * are in searchEffort.ts, the measurement in calibrate.ts). One calibration
 * per model at a time here, and one server at a time (calibrateWhenDue).
 */
import type { Logger } from 'pino';
import { coerceError } from '../core/errors.js';
import type { Db } from '../store/db.js';
import { modelSearchState, type ModelInfo, type ModelSearchState } from '../store/skills.js';
import { CalibrationStopped, QuerySamples, TooFewSamples, calibrateWhenDue, type QuerySample } from './calibrate.js';
import { CALIBRATION, calibrationDue, efSearchFor, type CalibrationRules } from './searchEffort.js';

/** The state moves slowly; without a cache each query would pay a catalog lookup. */
const STATE_TTL_MS = 60_000;

export interface EffortServiceOptions {
  db: Db;
  log: Logger;
  rules?: CalibrationRules;
}

export type EffortService = ReturnType<typeof createEffortService>;

export function createEffortService({ db, log, rules = CALIBRATION }: EffortServiceOptions) {
  // Cached as promises: a read begun before forget() leaves with the map's entry instead of being stored after it.
  const states = new Map<string, { at: number; state: Promise<ModelSearchState> }>();
  const samples = new QuerySamples(rules.sampleSize);
  const calibrations = new Map<string, Promise<void>>();
  /** When each model's last calibration failed or had too few usable queries. */
  const setbacks = new Map<string, number>();
  /** Queries still being noted, for settled(). */
  const noting = new Set<Promise<void>>();
  let stopping = false;

  function searchState(modelId: string): Promise<ModelSearchState> {
    const known = states.get(modelId);
    if (known && Date.now() - known.at < STATE_TTL_MS) return known.state;
    const entry = { at: Date.now(), state: modelSearchState(db, modelId) };
    states.set(modelId, entry);
    entry.state.catch(() => {
      if (states.get(modelId) === entry) states.delete(modelId);
    });
    return entry.state;
  }

  async function noteQuery(model: ModelInfo, sample: QuerySample): Promise<void> {
    samples.record(model.id, sample);
    if (stopping || calibrations.has(model.id)) return;
    if (Date.now() - (setbacks.get(model.id) ?? -Infinity) < rules.retryAfterMs) return;
    const state = await searchState(model.id);
    if (stopping || calibrations.has(model.id)) return;
    if (!calibrationDue({ ...state, samples: samples.count(model.id), now: new Date() }, rules)) return;
    const batch = samples.take(model.id);
    const started = Date.now();
    const run = calibrateWhenDue(db, model, batch, { rules, stop: () => stopping })
      .then((c) => {
        if (typeof c === 'string') return log.debug({ model: model.id, outcome: c }, 'skill search effort: no calibration needed here');
        states.clear();
        log.info(
          { model: model.id, graphSize: c.graphSize, efSearch: c.ef, recall: c.recall, samples: c.samples, kept: batch.length, tried: c.tried, stored: c.stored, ms: Date.now() - started },
          'skill search effort calibrated',
        );
      })
      .catch((err: unknown) => {
        if (err instanceof CalibrationStopped) return;
        setbacks.set(model.id, Date.now());
        if (err instanceof TooFewSamples) log.info({ model: model.id, usable: err.usable, kept: err.kept }, 'skill search effort not calibrated: too few queries had three neighbours in their workspace');
        else log.warn({ err: coerceError(err), model: model.id }, 'could not calibrate the skill search effort; searches keep their current effort');
      })
      .finally(() => calibrations.delete(model.id));
    calibrations.set(model.id, run);
  }

  async function settled(): Promise<void> {
    while (noting.size > 0 || calibrations.size > 0) await Promise.allSettled([...noting, ...calibrations.values()]);
  }

  return {
    /** hnsw.ef_search for the model's queries now. */
    async effortFor(modelId: string): Promise<number> {
      const s = await searchState(modelId);
      return efSearchFor(s.graphSize, s.calibration);
    },

    /**
     * Keeps a query that met the model's graph for its next calibration, and
     * starts one when it is due. Off the request's path: the search has its
     * answer already, and a failure here must not turn it into an error. A
     * failed calibration keeps the effort as it was and waits `retryAfterMs`.
     */
    noteQuery(model: ModelInfo, sample: QuerySample): void {
      const p = noteQuery(model, sample)
        .catch((err: unknown) => log.warn({ err: coerceError(err), model: model.id }, 'could not keep a query for the search-effort calibration'))
        .finally(() => noting.delete(p));
      noting.add(p);
    },

    /** After bulk changes or new statistics: read every model's state again. */
    forget(): void {
      states.clear();
    },

    /** Until every noted query and calibration started here has finished. */
    settled,

    /** Ends calibrations in progress (storing nothing) and waits for them. */
    async stop(): Promise<void> {
      stopping = true;
      await settled();
    },
  };
}

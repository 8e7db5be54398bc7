/**
 * Measures the search effort a model's graph needs: for a sample of the
 * queries it served, the exact top 3 (a scan of every vector) against the
 * index's top 3 at efforts chosen by bisection (src/skills/searchEffort.ts),
 * and stores the smallest effort that reached the target recall. Every
 * query is its own short transaction, so searches run between them; `stop`
 * ends the measurement early, storing nothing.
 */
import type { Db } from '../store/db.js';
import { claimCalibration, exactNearest, modelSearchState, nearestSkills, releaseCalibration, saveCalibration, type ModelInfo } from '../store/skills.js';
import { CALIBRATION, calibrationDue, chooseEffort, worstRecall, type Calibration, type CalibrationRules, type EffortChoice } from './searchEffort.js';

export interface QuerySample {
  workspaceId: string;
  /** pgvector text form. */
  vector: string;
}

const K = 3;

export class CalibrationStopped extends Error {
  constructor() {
    super('calibration stopped');
  }
}

/** Too few of the queries had three neighbours in their own workspace to say anything; nothing was stored. */
export class TooFewSamples extends Error {
  constructor(
    readonly usable: number,
    readonly kept: number,
  ) {
    super(`only ${usable} of ${kept} queries had ${K} neighbours in their workspace`);
  }
}

export interface CalibrationOptions {
  rules?: CalibrationRules;
  stop?: () => boolean;
}

export type CalibrationResult = Calibration & Pick<EffortChoice, 'tried'> & { usable: number; stored: boolean };

export async function calibrateEffort(db: Db, model: ModelInfo, samples: readonly QuerySample[], o: CalibrationOptions = {}): Promise<CalibrationResult> {
  const rules = o.rules ?? CALIBRATION;
  const check = () => {
    if (o.stop?.()) throw new CalibrationStopped();
  };
  check();
  const { graphSize } = await modelSearchState(db, model.id);
  const usable: { sample: QuerySample; exact: string[] }[] = [];
  for (const sample of samples) {
    check();
    const exact = await exactNearest(db, sample.workspaceId, model, sample.vector, K);
    // A query with fewer neighbours than K finds them all at any effort: counted, it would only flatter the index.
    if (exact.length === K) usable.push({ sample, exact });
  }
  if (usable.length < rules.minUsable) throw new TooFewSamples(usable.length, samples.length);
  const choice = await chooseEffort(rules.ladder, rules.target, async (ef) => {
    const found: string[][] = [];
    for (const { sample } of usable) {
      check();
      found.push((await db.tx((q) => nearestSkills(q, sample.workspaceId, model, sample.vector, K, ef))).map((r) => r.id));
    }
    return worstRecall(usable.map((u) => u.sample.workspaceId), usable.map((u) => u.exact), found, rules.minPerWorkspace);
  });
  const calibration: Calibration = { ef: choice.ef, recall: choice.recall, graphSize, samples: usable.length, at: new Date() };
  const stored = await saveCalibration(db, model.id, calibration);
  return { ...calibration, tried: choice.tried, usable: usable.length, stored };
}

/**
 * Calibrates a model when it is due and no other server is at it: claims the
 * model, re-reads its state (another server may have measured it since this
 * one last looked), measures, and lets the claim go.
 */
export async function calibrateWhenDue(
  db: Db,
  model: ModelInfo,
  samples: readonly QuerySample[],
  o: CalibrationOptions & { holder: string },
): Promise<CalibrationResult | 'busy' | 'current'> {
  const rules = o.rules ?? CALIBRATION;
  if (!(await claimCalibration(db, model.id, o.holder, rules.leaseMs))) return 'busy';
  try {
    const state = await modelSearchState(db, model.id);
    if (!calibrationDue({ ...state, samples: samples.length, now: new Date() }, rules)) return 'current';
    return await calibrateEffort(db, model, samples, o);
  } finally {
    // The claim expires by itself; a failure to release it (the database going away) must not hide the measurement's own outcome.
    await releaseCalibration(db, model.id, o.holder).catch(() => undefined);
  }
}

/** The newest queries each model served, kept for its next calibration. */
export class QuerySamples {
  private readonly byModel = new Map<string, QuerySample[]>();

  constructor(private readonly capacity = CALIBRATION.sampleSize) {}

  /** A query asked again moves to the newest place instead of counting twice. */
  record(modelId: string, sample: QuerySample): void {
    const list = (this.byModel.get(modelId) ?? []).filter((s) => s.workspaceId !== sample.workspaceId || s.vector !== sample.vector);
    list.push(sample);
    if (list.length > this.capacity) list.shift();
    this.byModel.set(modelId, list);
  }

  count(modelId: string): number {
    return this.byModel.get(modelId)?.length ?? 0;
  }

  /** Hands the samples over and forgets them: the next calibration measures newer queries. */
  take(modelId: string): QuerySample[] {
    const list = this.byModel.get(modelId) ?? [];
    this.byModel.delete(modelId);
    return list;
  }
}

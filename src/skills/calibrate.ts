/**
 * Measures the search effort a model's graph needs: for a sample of the
 * queries it served, the exact top 3 (a scan of every vector) against the
 * index's top 3 at efforts chosen by bisection (src/skills/searchEffort.ts),
 * and stores the smallest effort that reached the target recall. Every
 * query is its own short transaction, so searches run between them; `stop`
 * ends the measurement early, storing nothing.
 */
import type { Db } from '../store/db.js';
import { exclusively } from '../store/exclusive.js';
import { exactNearest, modelSearchState, nearestSkills, saveCalibration, type ModelInfo } from '../store/skills.js';
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
  /** The graph's size, when the caller has just read it. */
  graphSize?: number;
}

export type CalibrationResult = Calibration & Pick<EffortChoice, 'tried'> & { usable: number; stored: boolean };

export async function calibrateEffort(db: Db, model: ModelInfo, samples: readonly QuerySample[], o: CalibrationOptions = {}): Promise<CalibrationResult> {
  const rules = o.rules ?? CALIBRATION;
  const check = () => {
    if (o.stop?.()) throw new CalibrationStopped();
  };
  check();
  const graphSize = o.graphSize ?? (await modelSearchState(db, model.id)).graphSize;
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
 * Calibrates a model when it is due and no other server is at it: takes the
 * model's lock, re-reads its state (another server may have measured it
 * since this one last looked), and measures.
 */
export async function calibrateWhenDue(db: Db, model: ModelInfo, samples: readonly QuerySample[], o: CalibrationOptions = {}): Promise<CalibrationResult | 'busy' | 'current'> {
  const rules = o.rules ?? CALIBRATION;
  const done = await exclusively(db, `skill-calibration:${model.id}`, async () => {
    const state = await modelSearchState(db, model.id);
    if (!calibrationDue({ ...state, samples: samples.length, now: new Date() }, rules)) return 'current' as const;
    return calibrateEffort(db, model, samples, { ...o, graphSize: state.graphSize });
  });
  return done.ran ? done.value : 'busy';
}

/** The newest distinct queries each model served, kept for its next calibration. */
export class QuerySamples {
  /** Per model, keyed by workspace and vector; a Map iterates oldest first. */
  private readonly byModel = new Map<string, Map<string, QuerySample>>();

  constructor(private readonly capacity = CALIBRATION.sampleSize) {}

  /** A query asked again moves to the newest place instead of counting twice. */
  record(modelId: string, sample: QuerySample): void {
    let kept = this.byModel.get(modelId);
    if (!kept) this.byModel.set(modelId, (kept = new Map()));
    const key = `${sample.workspaceId}\n${sample.vector}`;
    kept.delete(key);
    kept.set(key, sample);
    if (kept.size > this.capacity) kept.delete(kept.keys().next().value!);
  }

  count(modelId: string): number {
    return this.byModel.get(modelId)?.size ?? 0;
  }

  /** Hands the samples over, oldest first, and forgets them: the next calibration measures newer queries. */
  take(modelId: string): QuerySample[] {
    const kept = this.byModel.get(modelId);
    this.byModel.delete(modelId);
    return kept ? [...kept.values()] : [];
  }
}

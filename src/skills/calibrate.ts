/**
 * Measures the search effort a model's graph needs: for a sample of the
 * queries it served, the exact top 3 (a scan of every vector) against the
 * index's top 3 at efforts chosen by bisection (src/skills/searchEffort.ts),
 * and stores the smallest effort that reached the target recall. Every
 * query is its own short transaction, so searches run between them; `stop`
 * ends the measurement early, storing nothing.
 */
import type { Db } from '../store/db.js';
import { exactNearest, modelSearchState, nearestSkills, saveCalibration, type ModelInfo } from '../store/skills.js';
import { CALIBRATION, chooseEffort, recallOf, type Calibration, type CalibrationRules, type EffortChoice } from './searchEffort.js';

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

export async function calibrateEffort(
  db: Db,
  model: ModelInfo,
  samples: readonly QuerySample[],
  o: { rules?: CalibrationRules; stop?: () => boolean } = {},
): Promise<Calibration & Pick<EffortChoice, 'tried'>> {
  const rules = o.rules ?? CALIBRATION;
  const check = () => {
    if (o.stop?.()) throw new CalibrationStopped();
  };
  const { graphSize } = await modelSearchState(db, model.id);
  const exact: string[][] = [];
  for (const s of samples) {
    check();
    exact.push(await exactNearest(db, s.workspaceId, model, s.vector, K));
  }
  const choice = await chooseEffort(rules.ladder, rules.target, async (ef) => {
    const found: string[][] = [];
    for (const s of samples) {
      check();
      found.push((await db.tx((q) => nearestSkills(q, s.workspaceId, model, s.vector, K, ef))).map((r) => r.id));
    }
    return recallOf(exact, found);
  });
  const calibration: Calibration = { ef: choice.ef, recall: choice.recall, graphSize, samples: samples.length, at: new Date() };
  await saveCalibration(db, model.id, calibration);
  return { ...calibration, tried: choice.tried };
}

/** The newest queries each model served, kept for its next calibration. */
export class QuerySamples {
  private readonly byModel = new Map<string, QuerySample[]>();

  constructor(private readonly capacity = CALIBRATION.maxSamples) {}

  record(modelId: string, sample: QuerySample): void {
    const list = this.byModel.get(modelId) ?? [];
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

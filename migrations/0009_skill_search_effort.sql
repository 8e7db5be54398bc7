-- The search effort (hnsw.ef_search) measured for each model's graph: the
-- smallest effort whose top 3 matched an exact scan for `calibrated_recall`
-- of the queries the model served (src/skills/calibrate.ts). NULL until the
-- graph is large enough to need one; until then the effort follows the
-- graph's size alone (src/skills/searchEffort.ts).
ALTER TABLE skill_models
  ADD COLUMN ef_search          integer CHECK (ef_search BETWEEN 1 AND 1000),
  ADD COLUMN calibrated_recall  real,
  ADD COLUMN calibrated_size    bigint,
  ADD COLUMN calibrated_samples integer,
  ADD COLUMN calibrated_at      timestamptz;

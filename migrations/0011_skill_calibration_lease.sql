-- One server at a time measures a model's search effort: every server keeps
-- its own sample of queries, and without a claim they would all start the
-- same scans at once when a graph passes 10k vectors or a measurement ages.
-- The claim expires, so a server that died measuring does not hold it.
ALTER TABLE skill_models
  ADD COLUMN calibrating_by    uuid,
  ADD COLUMN calibrating_until timestamptz;

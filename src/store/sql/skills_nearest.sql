-- The nearest skills of a workspace under one model, by the model's HNSW
-- index at the transaction's hnsw.ef_search. For deduplication (k = 1: a new
-- skill within the provider's cosine distance of the nearest bumps that
-- skill's usage instead of being added; a near-copy lies so close that an
-- approximate search finds it) and for measuring the effort's recall
-- (k = 3, src/skills/calibrate.ts).
-- {{dims}} and {{model}} as in skills_search.sql.
-- $1 text workspace, $2 text vector, $3 integer k
SELECT s.id, s.embedding::vector({{dims}}) <=> $2::vector({{dims}}) AS distance
FROM skills s
WHERE s.workspace_id = $1 AND s.embedding_model = {{model}} AND s.archived_at IS NULL
ORDER BY s.embedding::vector({{dims}}) <=> $2::vector({{dims}})
LIMIT $3

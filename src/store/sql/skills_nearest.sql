-- The nearest skill of a workspace under one model, for deduplication: a new
-- skill within the provider's cosine distance of it bumps that skill's usage
-- instead of being added. Uses the model's HNSW index when the planner picks
-- it: a near-copy lies so close that an approximate search finds it.
-- {{dims}} and {{model}} as in skills_search.sql.
-- $1 text workspace, $2 text vector
SELECT s.id, s.embedding::vector({{dims}}) <=> $2::vector({{dims}}) AS distance
FROM skills s
WHERE s.workspace_id = $1 AND s.embedding_model = {{model}} AND s.archived_at IS NULL
ORDER BY s.embedding::vector({{dims}}) <=> $2::vector({{dims}})
LIMIT 1

-- Hybrid skill search: the nearest vectors of one model and the best
-- full-text matches of one workspace, each ranked, for reciprocal rank
-- fusion in src/skills/ranking.ts.
-- $1 text     workspace
-- $2 text     the query vector, pgvector text form
-- $3 text     the query text
-- $4 integer  vector candidates
-- $5 integer  full-text candidates
-- $6 integer  full-text budget: most skills the full-text side may rank
--
-- {{dims}} and {{model}} are the model's dimensions and id, written into
-- the statement (src/store/skills.ts checks both against the model
-- registry's rules): the partial HNSW index of the model is
-- `(embedding::vector(dims)) WHERE embedding_model = 'id'`, and the planner
-- uses it only when the statement names that same cast and that same
-- literal. Run with hnsw.iterative_scan = relaxed_order, so a workspace
-- sharing the model with others still gets its k rows.
--
-- The full-text query is an OR of the query's lexemes, but only of the rarer
-- ones in this workspace (skill_lexemes.df), rarest first, while their
-- document counts add up to less than $6: words every skill shares cannot
-- rank skills, and ts_rank_cd over most of a 100k-skill workspace would cost
-- far more than the 10 ms this query has (bench/skills-speed.ts).
WITH qlex AS (
  SELECT DISTINCT l FROM unnest(tsvector_to_array(to_tsvector('english', $3))) AS l
), picked AS (
  SELECT x.lexeme, x.df, sum(x.df) OVER (ORDER BY x.df, x.lexeme) AS running
  FROM skill_lexemes x
  JOIN qlex ON qlex.l = x.lexeme
  WHERE x.workspace_id = $1 AND x.df > 0
), tq AS (
  SELECT string_agg('''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''', ' | ')::tsquery AS q
  FROM picked
  WHERE running - df < $6
), vec AS (
  SELECT s.id, row_number() OVER (ORDER BY v.distance, s.id) AS vector_rank, 1 - v.distance AS similarity
  FROM (
    SELECT s.id, s.embedding::vector({{dims}}) <=> $2::vector({{dims}}) AS distance
    FROM skills s
    WHERE s.workspace_id = $1 AND s.embedding_model = {{model}} AND s.archived_at IS NULL
    ORDER BY s.embedding::vector({{dims}}) <=> $2::vector({{dims}})
    LIMIT $4
  ) v
  JOIN skills s ON s.id = v.id
), txt AS (
  SELECT t.id, row_number() OVER (ORDER BY t.rank DESC, t.id) AS text_rank
  FROM (
    SELECT s.id, ts_rank_cd(s.search, tq.q) AS rank
    FROM skills s, tq
    WHERE tq.q IS NOT NULL AND s.search @@ tq.q AND s.workspace_id = $1 AND s.archived_at IS NULL
    ORDER BY rank DESC, s.id
    LIMIT $5
  ) t
)
SELECT s.id, s.workspace_id, s.name, s.description, s.usage_count, s.created_at, s.last_used_at, s.source_task_id,
       s.agent, s.model, s.metadata, s.embedding_model, s.dims,
       vec.vector_rank, txt.text_rank,
       CASE WHEN vec.id IS NOT NULL THEN vec.similarity
            WHEN s.embedding_model = {{model}} THEN 1 - (s.embedding::vector({{dims}}) <=> $2::vector({{dims}})) END AS similarity
FROM (SELECT id FROM vec UNION SELECT id FROM txt) c
JOIN skills s ON s.id = c.id
LEFT JOIN vec ON vec.id = c.id
LEFT JOIN txt ON txt.id = c.id

-- Folds the finished tasks of the days [$1, $2) into metrics_daily: one row
-- per day, workspace, agent, final status and failure class (of the last
-- run). Recomputed from scratch for those days, so running it twice is
-- harmless and a day refolded later gets the same numbers.
WITH finished AS (
  SELECT t.id, t.workspace_id, t.assigned_agent, t.status, (t.finished_at AT TIME ZONE 'UTC')::date AS day
  FROM tasks t
  WHERE t.finished_at >= $1::timestamptz AND t.finished_at < $2::timestamptz
    AND t.status IN ('completed', 'failed', 'cancelled')
), per_task AS (
  SELECT f.day, f.workspace_id, f.assigned_agent AS agent, f.status,
         coalesce((SELECT r.failure_class FROM task_runs r WHERE r.task_id = f.id ORDER BY r.attempt DESC LIMIT 1), '') AS failure_class,
         count(r.id) AS runs,
         coalesce(sum(extract(epoch FROM (r.ended_at - r.started_at)) * 1000), 0) AS duration_ms,
         coalesce(sum((r.usage ->> 'inputTokens')::bigint), 0) AS input_tokens,
         coalesce(sum((r.usage ->> 'outputTokens')::bigint), 0) AS output_tokens,
         coalesce(sum(r.cost_usd), 0) AS cost_usd
  FROM finished f
  LEFT JOIN task_runs r ON r.task_id = f.id
  GROUP BY f.id, f.day, f.workspace_id, f.assigned_agent, f.status
)
INSERT INTO metrics_daily (day, workspace_id, agent, status, failure_class, tasks, runs, duration_ms, input_tokens, output_tokens, cost_usd)
SELECT day, workspace_id, agent, status, failure_class, count(*), sum(runs), sum(duration_ms)::bigint, sum(input_tokens), sum(output_tokens), sum(cost_usd)
FROM per_task
GROUP BY day, workspace_id, agent, status, failure_class
ON CONFLICT (day, workspace_id, agent, status, failure_class) DO UPDATE
SET tasks = EXCLUDED.tasks, runs = EXCLUDED.runs, duration_ms = EXCLUDED.duration_ms,
    input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens, cost_usd = EXCLUDED.cost_usd

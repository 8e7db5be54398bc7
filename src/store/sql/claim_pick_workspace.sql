-- Which workspace should a runtime take its next task from?
-- $1 text[]  workspaces the runtime serves (NULL = all)
-- $2 text[]  agents the runtime has validated
-- $3 uuid    the runtime (a resumed task waits a little for the runtime that holds its session)
--
-- Only workspaces under their concurrency cap qualify. For each, the LATERAL
-- subquery reads the head of its queue from the partial index
-- tasks_claimable (one index probe per workspace, no sort of the backlog);
-- the workspace whose head has the highest priority, then the oldest, wins.
WITH busy AS (
  SELECT workspace_id, count(*) AS n
  FROM tasks
  WHERE status IN ('claimed', 'executing')
  GROUP BY workspace_id
)
SELECT w.id AS workspace_id
FROM workspaces w
LEFT JOIN busy b ON b.workspace_id = w.id
CROSS JOIN LATERAL (
  SELECT t.priority, t.created_at, t.id
  FROM tasks t
  WHERE t.workspace_id = w.id
    AND t.status = 'queued'
    AND (t.run_after IS NULL OR t.run_after <= now())
    AND t.assigned_agent = ANY ($2::text[])
    AND (t.preferred_daemon_id IS NULL OR t.preferred_daemon_id = $3::uuid OR t.preferred_until < now()
         OR NOT EXISTS (SELECT 1 FROM daemons pd WHERE pd.id = t.preferred_daemon_id AND pd.state = 'online'))
  ORDER BY t.priority DESC, t.created_at, t.id
  LIMIT 1
) head
WHERE ($1::text[] IS NULL OR w.id = ANY ($1::text[]))
  AND w.max_concurrent_tasks > coalesce(b.n, 0)
ORDER BY head.priority DESC, head.created_at, head.id
LIMIT 1

-- Open tasks by workspace and state, for the queue-depth gauge that every
-- Prometheus scrape reads (src/server/metrics.ts): one grouped query whose
-- cost follows the open tasks (an index-only scan of this small index), not
-- the table's history of finished ones. The predicate is the query's.
CREATE INDEX tasks_open ON tasks (workspace_id, status)
  WHERE status IN ('queued', 'claimed', 'executing', 'blocked') OR (status = 'failed' AND run_after IS NOT NULL);

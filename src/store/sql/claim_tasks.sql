-- Claims up to $4 queued tasks of workspace $1 for runtime $3.
-- $1 text     workspace
-- $2 text[]   agents the runtime has validated
-- $3 uuid     runtime (daemon) id
-- $4 integer  free slots of the runtime
-- $5 integer  lease in milliseconds: without a spawn report by then the reaper re-queues
--
-- Runs in a transaction that first takes the workspace's advisory lock, so
-- the count of busy slots below is read after any concurrent claim for the
-- same workspace has committed: the cap holds across server processes.
-- SKIP LOCKED lets claims for other runtimes pass rows another claim holds.
-- attempt is counted here; a claim that lapses gives it back (release_claim).
-- queued_ms (metrics: dispatch latency) is how long the task has been
-- claimable: since its last transition to queued, or its run_after if later.
-- One probe of task_transitions_by_task per claimed row, measured on the
-- database's clock so the server's clock skew does not enter it.
WITH room AS (
  SELECT w.max_concurrent_tasks
         - (SELECT count(*) FROM tasks a WHERE a.workspace_id = w.id AND a.status IN ('claimed', 'executing')) AS n
  FROM workspaces w
  WHERE w.id = $1
), picked AS (
  SELECT t.id
  FROM tasks t
  WHERE t.workspace_id = $1
    AND t.status = 'queued'
    AND (t.run_after IS NULL OR t.run_after <= now())
    AND t.assigned_agent = ANY ($2::text[])
    AND (t.preferred_daemon_id IS NULL OR t.preferred_daemon_id = $3::uuid OR t.preferred_until < now()
         OR NOT EXISTS (SELECT 1 FROM daemons pd WHERE pd.id = t.preferred_daemon_id AND pd.state = 'online'))
  ORDER BY t.priority DESC, t.created_at, t.id
  LIMIT greatest(0, least($4::integer, (SELECT n FROM room)))
  FOR UPDATE SKIP LOCKED
)
UPDATE tasks t
SET status = 'claimed',
    daemon_id = $3,
    lease_expires_at = now() + make_interval(secs => $5::double precision / 1000),
    attempt = t.attempt + 1,
    status_reason = NULL,
    preferred_daemon_id = NULL,
    preferred_until = NULL,
    updated_at = now()
FROM picked
WHERE t.id = picked.id
  AND t.status = 'queued'
RETURNING t.*, (SELECT coalesce(max(e.seq), 0) + 1 FROM task_events e WHERE e.task_id = t.id) AS seq_start,
  (SELECT extract(epoch FROM clock_timestamp() - greatest(coalesce(max(q.at), t.created_at), t.run_after)) * 1000
   FROM task_transitions q WHERE q.task_id = t.id AND q.to_status = 'queued') AS queued_ms

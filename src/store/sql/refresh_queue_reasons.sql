-- Says on each queued task whether any online runtime can run it
-- ("no runtime has agent X"), and clears the note when one can.
-- $1 uuid[]  only these tasks (NULL = every queued task)
-- Availability is decided once per (workspace, agent) pair, not per task.
WITH pairs AS (
  SELECT DISTINCT workspace_id, assigned_agent
  FROM tasks
  WHERE status = 'queued' AND ($1::uuid[] IS NULL OR id = ANY ($1::uuid[]))
), avail AS (
  SELECT p.workspace_id, p.assigned_agent,
         EXISTS (
           SELECT 1
           FROM daemons d
           JOIN daemon_agents a ON a.daemon_id = d.id
           WHERE d.state = 'online'
             AND a.name = p.assigned_agent
             AND a.status = 'ok'
             AND (d.workspaces IS NULL OR p.workspace_id = ANY (d.workspaces))
         ) AS ok
  FROM pairs p
), wanted AS (
  SELECT t.id,
         CASE
           WHEN NOT a.ok THEN 'no runtime has agent ' || t.assigned_agent
           WHEN t.status_reason LIKE 'no runtime has agent %' THEN NULL
           ELSE t.status_reason
         END AS reason
  FROM tasks t
  JOIN avail a ON a.workspace_id = t.workspace_id AND a.assigned_agent = t.assigned_agent
  WHERE t.status = 'queued' AND ($1::uuid[] IS NULL OR t.id = ANY ($1::uuid[]))
)
UPDATE tasks t
SET status_reason = w.reason, updated_at = now()
FROM wanted w
WHERE t.id = w.id
  AND t.status = 'queued'
  AND t.status_reason IS DISTINCT FROM w.reason
RETURNING t.id, t.workspace_id

-- Recurring failures of a workspace: its failed runs that ended at or after
-- $2, grouped by $3 (class | agent | model | prompt), largest groups first.
-- Each group: failed runs, distinct tasks, first and last failure, its ten
-- most recently failed tasks, its top three of the other dimension (agents
-- for a class, classes for anything else) and, by prompt, the start of the
-- prompt so a person recognizes it. totals: every group in the window, before
-- the limit ($6). $4/$5 narrow to one agent / one failure class (NULL: all).
--
-- Cancelled runs have status 'cancelled' and are not failures. The scan walks
-- the partial index task_runs_failed (migrations/0008) over the window and
-- reaches the tasks by primary key: its cost follows the failed runs of the
-- window (all workspaces: task_runs has no workspace column), never the
-- history of runs. Keys are '' instead of NULL inside (a run without a model)
-- so groups join by equality; the outer SELECT gives NULL back.
WITH failed AS (
  SELECT r.task_id, r.ended_at,
         CASE $3::text
           WHEN 'class' THEN coalesce(r.failure_class, '')
           WHEN 'agent' THEN r.agent
           -- The model the agent reported, else the one the task asked for.
           WHEN 'model' THEN coalesce(r.model, t.model, '')
           ELSE t.prompt_hash
         END AS key,
         CASE WHEN $3::text = 'class' THEN r.agent ELSE coalesce(r.failure_class, '') END AS other
  FROM task_runs r
  JOIN tasks t ON t.id = r.task_id
  WHERE r.status = 'failed'
    AND r.ended_at >= $2::timestamptz
    AND t.workspace_id = $1
    AND ($4::text IS NULL OR r.agent = $4::text)
    AND ($5::text IS NULL OR r.failure_class = $5::text)
), groups AS (
  SELECT key, count(*) AS failures, count(DISTINCT task_id) AS tasks, min(ended_at) AS first_at, max(ended_at) AS last_at,
         sum(count(*)) OVER () AS total_failures, count(*) OVER () AS total_groups
  FROM failed
  GROUP BY key
  ORDER BY failures DESC, last_at DESC, key
  LIMIT $6
), recent AS (
  SELECT key, array_agg(task_id::text ORDER BY last_at DESC, task_id) AS task_ids
  FROM (
    SELECT key, task_id, max(ended_at) AS last_at,
           row_number() OVER (PARTITION BY key ORDER BY max(ended_at) DESC, task_id) AS rn
    FROM failed
    WHERE key IN (SELECT key FROM groups)
    GROUP BY key, task_id
  ) per_task
  WHERE rn <= 10
  GROUP BY key
), tops AS (
  SELECT key, json_agg(json_build_object('key', nullif(other, ''), 'count', n) ORDER BY rn) AS top
  FROM (
    SELECT key, other, count(*) AS n, row_number() OVER (PARTITION BY key ORDER BY count(*) DESC, other) AS rn
    FROM failed
    WHERE key IN (SELECT key FROM groups)
    GROUP BY key, other
  ) per_other
  WHERE rn <= 3
  GROUP BY key
)
SELECT nullif(g.key, '') AS key, g.failures, g.tasks, g.first_at, g.last_at, g.total_failures, g.total_groups,
       r.task_ids, o.top,
       -- Every task of a prompt group has this prompt; the latest one's is as good as any.
       CASE WHEN $3::text = 'prompt'
         THEN (SELECT left(regexp_replace(btrim(left(t.prompt, 600)), '\s+', ' ', 'g'), 160) FROM tasks t WHERE t.id = r.task_ids[1]::uuid)
       END AS prompt_excerpt
FROM groups g
JOIN recent r ON r.key = g.key
JOIN tops o ON o.key = g.key
ORDER BY g.failures DESC, g.last_at DESC, g.key

-- The webhook events of transitions just recorded, read inside the same
-- transaction (recordTransitions): for each task its latest transition —
-- the one this transaction made, under the task's row lock — when it is one
-- of the four task events, paired with every active subscription of the
-- task's own workspace that wants it. A failed attempt that will be retried
-- (failed with run_after) goes only to subscriptions with include_retries.
-- For a workspace without subscriptions it answers no rows after a primary-key
-- and an index probe per task. $1: the task ids.
SELECT s.id AS subscription_id,
       l.transition_id,
       l.at AS occurred_at,
       t.id, t.workspace_id, t.status, t.assigned_agent, t.model, left(t.prompt, 1000) AS prompt_head,
       t.attempt, t.max_attempts, t.status_reason, t.priority, t.metadata, t.group_id, t.repo,
       t.created_at, t.finished_at, t.run_after, t.question, left(t.result_text, 2000) AS result_head,
       r.failure_class, r.failure_reason, r.exit_code, r.usage, r.cost_usd
FROM (
  SELECT DISTINCT ON (task_id) id AS transition_id, task_id, to_status, at
  FROM task_transitions
  WHERE task_id = ANY ($1::uuid[])
  ORDER BY task_id, id DESC
) l
JOIN tasks t ON t.id = l.task_id AND t.status = l.to_status
JOIN webhook_subscriptions s ON s.workspace_id = t.workspace_id AND s.active
  AND ('task.' || t.status) = ANY (s.events)
  AND (t.status <> 'failed' OR t.run_after IS NULL OR s.include_retries)
-- The run of the current attempt only: a task cancelled while queued again has no run of its own.
LEFT JOIN LATERAL (
  SELECT failure_class, failure_reason, exit_code, usage, cost_usd
  FROM task_runs WHERE task_id = t.id AND attempt = t.attempt
) r ON true
WHERE l.to_status IN ('completed', 'failed', 'blocked', 'cancelled')

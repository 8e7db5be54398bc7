-- Claims up to $1 due skill jobs for this worker and moves their due time one
-- lease ahead ($2 milliseconds): a worker that dies mid-job leaves it to come
-- due again, and another worker (or server) picks it up. SKIP LOCKED lets
-- several servers claim side by side. Backed by the partial index skill_jobs_due.
WITH c AS (
  SELECT id FROM skill_jobs
  WHERE state = 'pending' AND run_after <= now()
  ORDER BY run_after, id
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)
UPDATE skill_jobs j
SET attempts = j.attempts + 1,
    run_after = now() + make_interval(secs => $2::double precision / 1000),
    updated_at = now()
FROM c
WHERE j.id = c.id
RETURNING j.*

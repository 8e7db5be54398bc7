-- Agents: questions asked during a run, progress notes, and runtime
-- preference for resumed sessions.

-- The attempt during which the current question was asked: a run that ends
-- with a question of its own attempt makes the task `blocked`.
ALTER TABLE tasks ADD COLUMN question_attempt integer;
-- The latest progress note an agent reported (report_progress).
ALTER TABLE tasks ADD COLUMN progress_note text;
-- A resumed task (answer, retry) prefers the runtime that holds its session
-- files and working copy, until preferred_until; after that any runtime may
-- take it (and starts the session fresh).
ALTER TABLE tasks ADD COLUMN preferred_daemon_id uuid;
ALTER TABLE tasks ADD COLUMN preferred_until timestamptz;

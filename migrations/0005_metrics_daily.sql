-- Daily aggregates of finished tasks, kept a year after detailed rows are
-- gone (DESIGN.md §7). One row per day, workspace, agent, final status and
-- failure class ('' when none); refolded idempotently by maintenance.
CREATE TABLE metrics_daily (
  day            date NOT NULL,
  workspace_id   text NOT NULL,
  agent          text NOT NULL,
  status         text NOT NULL,
  failure_class  text NOT NULL DEFAULT '',
  tasks          integer NOT NULL,
  runs           integer NOT NULL,
  duration_ms    bigint NOT NULL,
  input_tokens   bigint NOT NULL,
  output_tokens  bigint NOT NULL,
  cost_usd       double precision NOT NULL,
  PRIMARY KEY (day, workspace_id, agent, status, failure_class)
);

-- Maintenance finds finished tasks by age.
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;

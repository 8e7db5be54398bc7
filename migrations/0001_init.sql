-- Switchyard schema, first version. One file per change; never edit a
-- released migration, add the next number instead. Kept compatible with
-- PostgreSQL 15 (CI) and PGlite 0.5 (PostgreSQL 18 in WASM).

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE workspaces (
  id                   text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name                 text NOT NULL,
  -- NULL means "every agent the runtimes offer" (the daemon issue's default).
  allowed_agents       text[],
  max_concurrent_tasks integer NOT NULL DEFAULT 4 CHECK (max_concurrent_tasks > 0),
  skill_retention_days integer NOT NULL DEFAULT 90 CHECK (skill_retention_days > 0),
  audit_log_enabled    boolean NOT NULL DEFAULT false,
  settings             jsonb NOT NULL DEFAULT '{}',
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- NULL for instance-wide tokens (the admin token, the local daemon's token).
  workspace_id      text REFERENCES workspaces (id) ON DELETE CASCADE,
  role              text NOT NULL CHECK (role IN ('admin', 'member', 'viewer', 'daemon', 'task')),
  name              text NOT NULL,
  -- SHA-256 of the secret, hex. The secret itself is shown once and never stored.
  token_hash        text NOT NULL UNIQUE,
  -- First characters of the secret, so a user can tell tokens apart in listings.
  prefix            text NOT NULL,
  -- Daemon tokens: the workspaces the daemon may serve; NULL = all (instance-wide only).
  daemon_workspaces text[],
  -- Task tokens: the one task they may report on.
  task_id           uuid,
  expires_at        timestamptz,
  revoked_at        timestamptz,
  last_used_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_workspace ON api_tokens (workspace_id, created_at);

CREATE TABLE tasks (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id        text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  group_id            uuid,
  assigned_agent      text NOT NULL,
  model               text,
  prompt              text NOT NULL,
  prompt_hash         text NOT NULL,
  status              text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'claimed', 'executing', 'completed', 'failed', 'blocked', 'cancelled')),
  -- Why a task is where it is, in words (e.g. "no runtime has agent codex").
  status_reason       text,
  priority            integer NOT NULL DEFAULT 0,
  attempt             integer NOT NULL DEFAULT 0,
  max_attempts        integer NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
  -- queued: not before this time. failed: time of the automatic retry, NULL when none is due.
  run_after           timestamptz,
  metadata            jsonb NOT NULL DEFAULT '{}',
  -- The runtime holding the current claim or run, and until when it holds it.
  daemon_id           uuid,
  lease_expires_at    timestamptz,
  cancel_requested_at timestamptz,
  question            text,
  answer              text,
  session_id          text,
  token_budget        integer,
  repo                text,
  base_ref            text,
  suggestions         jsonb NOT NULL DEFAULT '[]',
  result_text         text,
  created_by          uuid,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz
);
-- The claim query walks this index: queued work of a workspace, best first.
CREATE INDEX tasks_claimable ON tasks (workspace_id, priority DESC, created_at, id) WHERE status = 'queued';
-- Listings, newest first, with keyset pagination.
CREATE INDEX tasks_by_workspace ON tasks (workspace_id, created_at DESC, id DESC);
-- Slots in use per workspace (concurrency caps) and per runtime (reconciliation).
CREATE INDEX tasks_active_by_workspace ON tasks (workspace_id) WHERE status IN ('claimed', 'executing');
CREATE INDEX tasks_active_by_daemon ON tasks (daemon_id) WHERE status IN ('claimed', 'executing');
-- The reaper's and the retry promoter's scans.
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status IN ('claimed', 'executing');
CREATE INDEX tasks_retry_due ON tasks (run_after) WHERE status = 'failed' AND run_after IS NOT NULL;
CREATE INDEX tasks_group ON tasks (group_id) WHERE group_id IS NOT NULL;

-- One row per attempt.
CREATE TABLE task_runs (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  task_id        uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt        integer NOT NULL,
  daemon_id      uuid,
  agent          text NOT NULL,
  agent_version  text,
  model          text,
  pid            integer,
  status         text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'completed', 'failed', 'blocked', 'cancelled')),
  started_at     timestamptz NOT NULL DEFAULT now(),
  ended_at       timestamptz,
  exit_code      integer,
  signal         text,
  failure_class  text,
  failure_reason text,
  stderr_tail    text,
  last_events    jsonb,
  usage          jsonb,
  cost_usd       double precision,
  session_id     text,
  result_text    text,
  diff           jsonb,
  seq_start      integer NOT NULL DEFAULT 1,
  UNIQUE (task_id, attempt)
);

-- The timeline of a task: every status change, who made it and why.
CREATE TABLE task_transitions (
  id           bigserial PRIMARY KEY,
  task_id      uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  from_status  text,
  to_status    text NOT NULL,
  actor        text NOT NULL,
  reason       text,
  attempt      integer NOT NULL,
  daemon_id    uuid,
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_transitions_by_task ON task_transitions (task_id, id);

-- Agent output, one row per line or normalized event. Partitioned by day so
-- retention drops whole partitions; `at` is the daemon's timestamp, which a
-- resend repeats, so (task_id, seq, at) makes resends idempotent.
CREATE TABLE task_events (
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  seq     integer NOT NULL CHECK (seq > 0),
  at      timestamptz NOT NULL,
  attempt integer NOT NULL,
  stream  text NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
  kind    text NOT NULL,
  text    text,
  data    jsonb,
  raw     text,
  PRIMARY KEY (task_id, seq, at)
) PARTITION BY RANGE (at);
-- Catches rows outside the daily partitions (a daemon with a wrong clock).
CREATE TABLE task_events_default PARTITION OF task_events DEFAULT;

CREATE TABLE daemons (
  id              uuid PRIMARY KEY,
  name            text NOT NULL,
  hostname        text NOT NULL,
  version         text NOT NULL,
  token_id        uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
  -- Workspaces this runtime may serve (from its token); NULL = all.
  workspaces      text[],
  capacity        integer NOT NULL,
  state           text NOT NULL CHECK (state IN ('online', 'offline')),
  throttled       boolean NOT NULL DEFAULT false,
  throttle_reason text,
  server_id       text,
  health          jsonb,
  connected_at    timestamptz,
  last_seen_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- What each runtime found when it validated its agents.
CREATE TABLE daemon_agents (
  daemon_id  uuid NOT NULL REFERENCES daemons (id) ON DELETE CASCADE,
  name       text NOT NULL,
  binary_path text,
  version    text,
  status     text NOT NULL CHECK (status IN ('ok', 'missing', 'not_executable', 'version_failed')),
  reason     text,
  checked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (daemon_id, name)
);

-- Recent health reports, for the runtimes page's sparklines; trimmed by maintenance.
CREATE TABLE daemon_health (
  daemon_id     uuid NOT NULL REFERENCES daemons (id) ON DELETE CASCADE,
  at            timestamptz NOT NULL DEFAULT now(),
  cpu           real NOT NULL,
  mem_used_mb   real NOT NULL,
  agents_rss_mb real NOT NULL,
  active        integer NOT NULL,
  throttled     boolean NOT NULL,
  PRIMARY KEY (daemon_id, at)
);

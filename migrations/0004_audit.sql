-- The audit trail (DESIGN.md §6, issue 7): every state-changing API call and
-- every task transition of a workspace that has audit_log_enabled, chained
-- by SHA-256 per workspace so that a changed or missing record is found by
-- `switchyard audit verify`. Compatible with PostgreSQL 15 and PGlite 0.5.
--
-- hash = sha256(prev_hash || canonical JSON of the record's other fields)
-- (src/core/audit.ts defines the canonical form; src/store/sql/audit_append.sql
-- appends). No foreign key to workspaces: the record of a workspace's
-- deletion, and everything before it, outlives the workspace.

CREATE TABLE audit_log (
  workspace_id   text NOT NULL,
  -- 1, 2, 3, … per workspace: the chain's order.
  seq            bigint NOT NULL CHECK (seq > 0),
  -- Millisecond precision, as hashed (ISO-8601 in the canonical form).
  at             timestamptz NOT NULL,
  -- user (an API token), dispatcher, daemon, reaper, promoter.
  actor_kind     text NOT NULL,
  -- The API token and its role; NULL for the system's own actions.
  actor_token_id text,
  actor_role     text,
  -- task.create, task.transition, workspace.update, token.revoke, …
  action         text NOT NULL,
  target_type    text,
  target_id      text,
  -- Small summaries (changed fields, never whole prompts).
  before         jsonb,
  after          jsonb,
  client_address text,
  prev_hash      text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash           text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  PRIMARY KEY (workspace_id, seq, at)
) PARTITION BY RANGE (at);
-- Monthly partitions (audit_log_YYYYMM) are created ahead by
-- src/store/partitions.ts; the default one catches anything outside them.
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- The end of each workspace's chain. Appending locks this row (the upsert in
-- audit_append.sql), so concurrent writers on several connections or server
-- processes append one after another, and reading the last hash costs one
-- primary-key probe instead of a scan over every monthly partition.
CREATE TABLE audit_heads (
  workspace_id text PRIMARY KEY,
  seq          bigint NOT NULL,
  prev_hash    text NOT NULL,
  hash         text NOT NULL,
  -- Where the stored chain starts: 0 and the genesis hash until retention
  -- drops old partitions, then the last dropped record (rebaseAuditChains).
  base_seq     bigint NOT NULL DEFAULT 0,
  base_hash    text NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000'
);

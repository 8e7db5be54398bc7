-- Outgoing webhooks (issue 9, docs/integrations.md): a workspace's
-- subscriptions, and their deliveries, which are the delivery queue itself —
-- stored, so a delivery outlives the server that was sending it.
-- Compatible with PostgreSQL 15 and PGlite 0.5.

CREATE TABLE webhook_subscriptions (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id    text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  url             text NOT NULL CHECK (url ~* '^https?://'),
  -- task.completed, task.failed, task.blocked, task.cancelled, daemon.offline, daemon.throttled
  events          text[] NOT NULL CHECK (cardinality(events) > 0),
  -- The HMAC key deliveries are signed with. Kept as given (the server must
  -- sign with it on every attempt, on any server) and never answered by the
  -- API after creation or rotation; see docs/decisions.md.
  secret          text NOT NULL,
  format          text NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
  -- task.failed also for failed attempts that will be retried.
  include_retries boolean NOT NULL DEFAULT false,
  active          boolean NOT NULL DEFAULT true,
  description     text,
  created_by      uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_workspace ON webhook_subscriptions (workspace_id, created_at);

-- One row per (subscription, event). event_key names the event (a task's
-- transition, a runtime's offline or throttled spell), so producing the same
-- event twice — two servers reacting to one change — queues it once.
CREATE TABLE webhook_deliveries (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  event_key       text NOT NULL,
  -- The same for every subscription's delivery of one event.
  event_id        uuid NOT NULL,
  event           text NOT NULL,
  -- The event as the json format sends it (snapshot taken when it happened).
  payload         jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  -- pending: due at. While an attempt is in flight it is the claim's lease:
  -- a server that died mid-request leaves the delivery due again then.
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  last_status     integer,
  last_error      text,
  delivered_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (subscription_id, event_key)
);
-- The worker's claim walks this: what is due, soonest first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- The delivery log of one subscription, newest first (keyset pages).
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, created_at DESC, id DESC);
-- Retention trims finished deliveries by age.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_at) WHERE status <> 'pending';

-- When a runtime's current throttled spell began (NULL: not throttled), so
-- each spell is one daemon.throttled event however many health reports it spans.
ALTER TABLE daemons ADD COLUMN throttled_since timestamptz;

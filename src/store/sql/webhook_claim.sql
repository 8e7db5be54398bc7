-- The delivery worker's claim: due deliveries of active subscriptions,
-- soonest first, at most $1. SKIP LOCKED lets several servers claim side by
-- side without waiting on each other or taking the same row. The claim is a
-- lease, not a held lock: it counts the attempt and moves next_attempt_at
-- $2 ms ahead (the request's timeout and a margin), then commits, so no row
-- lock lasts across an HTTP request, and a delivery whose server died
-- mid-request is due again when the lease runs out. Deliveries of a paused
-- subscription stay pending (and are skipped here) until it is active again.
WITH c AS (
  SELECT d.id
  FROM webhook_deliveries d
  JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.active
  WHERE d.status = 'pending' AND d.next_attempt_at <= now()
  ORDER BY d.next_attempt_at
  LIMIT $1
  FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1,
    last_attempt_at = now(),
    next_attempt_at = now() + make_interval(secs => $2::double precision / 1000),
    updated_at = now()
FROM c, webhook_subscriptions s
WHERE d.id = c.id AND s.id = d.subscription_id
RETURNING d.id, d.subscription_id, d.event_id, d.event, d.payload, d.attempts, s.workspace_id, s.url, s.secret, s.format

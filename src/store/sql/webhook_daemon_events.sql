-- Runtime events not queued yet, found by every server's webhook worker on
-- each poll and on every 'daemon' signal. They are read from the daemons'
-- rows, so the code that changes those rows needs no hook; the unique
-- (subscription_id, event_key) of webhook_deliveries makes several servers'
-- sweeps queue each event once (the caller inserts with ON CONFLICT DO NOTHING).
--
--   daemon.offline   offline, and silent for $1 ms (the reaper's limit,
--                    max(3 × heartbeat, lease)): a server restart whose
--                    runtimes reconnect to another server sends nothing.
--                    One per connection (keyed by connected_at).
--   daemon.throttled throttled without a break for $2 ms (throttled_since),
--                    so a load hovering at the threshold is not a stream of
--                    events. One per spell (keyed by throttled_since).
--
-- Only spells that began after the subscription was made and within the
-- last day: a new subscription is not told about last month's outage, and
-- retention trimming old deliveries never makes an old spell new again.
-- A runtime serves the workspaces of its token (NULL = all of them); each
-- of those workspaces' subscriptions gets the event, no other.
WITH ev AS (
  SELECT d.id, d.name, d.hostname, d.state, d.throttled, d.throttle_reason, d.workspaces, d.connected_at, d.last_seen_at, d.throttled_since,
         'daemon.offline'::text AS event,
         'daemon.offline:' || d.id || ':' || coalesce(extract(epoch FROM d.connected_at)::text, '-') AS event_key,
         coalesce(d.last_seen_at, d.updated_at) AS since
  FROM daemons d
  WHERE d.state = 'offline' AND coalesce(d.last_seen_at, d.updated_at) <= now() - make_interval(secs => $1::double precision / 1000)
  UNION ALL
  SELECT d.id, d.name, d.hostname, d.state, d.throttled, d.throttle_reason, d.workspaces, d.connected_at, d.last_seen_at, d.throttled_since,
         'daemon.throttled'::text,
         'daemon.throttled:' || d.id || ':' || extract(epoch FROM d.throttled_since)::text,
         d.throttled_since
  FROM daemons d
  WHERE d.state = 'online' AND d.throttled AND d.throttled_since <= now() - make_interval(secs => $2::double precision / 1000)
)
SELECT s.id AS subscription_id, s.workspace_id AS subscription_workspace, ev.*
FROM ev
JOIN webhook_subscriptions s ON s.active AND ev.event = ANY (s.events)
  AND (ev.workspaces IS NULL OR s.workspace_id = ANY (ev.workspaces))
  AND ev.since > s.created_at AND ev.since > now() - interval '1 day'
WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.subscription_id = s.id AND x.event_key = ev.event_key)

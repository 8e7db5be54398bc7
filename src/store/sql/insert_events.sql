-- Stores one batch of a run's events. One statement whatever the batch size
-- (arrays instead of a VALUES list), so it is prepared once and reused.
-- Resent batches are ignored row by row: (task_id, seq, at) is the key and a
-- resend repeats the daemon's timestamps.
INSERT INTO task_events (task_id, seq, at, attempt, stream, kind, text, data, raw)
SELECT $1::uuid, u.seq, u.at, $2::integer, u.stream, u.kind, u.text, u.data, u.raw
FROM unnest($3::integer[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[])
  AS u (seq, at, stream, kind, text, data, raw)
ON CONFLICT DO NOTHING

-- Stores a batch of events of any number of runs in one statement: the
-- server's event writer gathers the frames that arrive while the previous
-- insert is running and writes them together (group commit), so the insert
-- rate follows the database's round trips, not the number of frames.
-- Arrays instead of a VALUES list: one prepared statement whatever the size.
-- Resends are ignored row by row: (task_id, seq, at) is the key, and a
-- resend repeats the daemon's timestamps.
INSERT INTO task_events (task_id, seq, at, attempt, stream, kind, text, data, raw)
SELECT u.task_id, u.seq, u.at, u.attempt, u.stream, u.kind, u.text, u.data, u.raw
FROM unnest($1::uuid[], $2::integer[], $3::integer[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[])
  AS u (task_id, attempt, seq, at, stream, kind, text, data, raw)
ON CONFLICT DO NOTHING

-- Appends one record to workspace $1's audit chain, in one statement, when
-- the workspace has the audit log enabled ($14 NULL: look it up; true or
-- false: the caller knows). Answers the new record's seq and hash, or no
-- row when nothing was appended.
-- $1  text         workspace
-- $2  text         canonical JSON of the record up to its seq value ("…,\"seq\":")
-- $3  text         canonical JSON after the seq value (",\"targetId\":…}")
-- $4  timestamptz  at (the time that was hashed, milliseconds)
-- $5–$13           actor kind, token id, role, action, target type and id,
--                  before and after (jsonb), client address
-- $14 boolean      audit enabled, or NULL
--
-- The chain's end lives in audit_heads. The upsert takes that row's lock and,
-- under READ COMMITTED, reads its latest committed version even when it had
-- to wait for another writer: writers on any connection or server process
-- append one after another, each hashing the previous one's hash
-- (hash = sha256(prev_hash || canonical JSON), see src/core/audit.ts). The
-- lock is held to the end of the caller's transaction, so a transition and
-- its record commit or roll back together without a gap or a fork in the
-- chain. One statement also means no separate transaction is needed when
-- the caller has none.
WITH head AS (
  INSERT INTO audit_heads AS h (workspace_id, seq, prev_hash, hash)
  SELECT $1, 1, g.hash, encode(sha256(convert_to(g.hash || $2::text || '1' || $3::text, 'UTF8')), 'hex')
  FROM (SELECT repeat('0', 64) AS hash) g
  WHERE coalesce($14::boolean, EXISTS (SELECT 1 FROM workspaces w WHERE w.id = $1 AND w.audit_log_enabled))
  ON CONFLICT (workspace_id) DO UPDATE
  SET seq = h.seq + 1,
      prev_hash = h.hash,
      hash = encode(sha256(convert_to(h.hash || $2::text || (h.seq + 1)::text || $3::text, 'UTF8')), 'hex')
  RETURNING h.seq, h.prev_hash, h.hash
)
INSERT INTO audit_log (workspace_id, seq, at, actor_kind, actor_token_id, actor_role, action, target_type, target_id,
                       before, after, client_address, prev_hash, hash)
SELECT $1, head.seq, $4::timestamptz, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13, head.prev_hash, head.hash
FROM head
RETURNING seq, hash

/** Runtimes (daemons): identity, validated agents, health, and their leases. */
import type { Daemon } from '../core/api.js';
import type { Queryable } from './db.js';
import { iso, isoOrNull } from './rows.js';

export interface AgentCheck {
  name: string;
  binary: string | null;
  version: string | null;
  status: 'ok' | 'missing' | 'not_executable' | 'version_failed';
  reason: string | null;
}

export interface DaemonHello {
  id: string;
  name: string;
  hostname: string;
  version: string;
  tokenId: string;
  workspaces: string[] | null;
  capacity: number;
  serverId: string;
}

export async function upsertDaemon(q: Queryable, d: DaemonHello): Promise<void> {
  await q.query(
    `INSERT INTO daemons (id, name, hostname, version, token_id, workspaces, capacity, state, server_id, connected_at, last_seen_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'online', $8, now(), now())
     ON CONFLICT (id) DO UPDATE SET name = $2, hostname = $3, version = $4, token_id = $5, workspaces = $6, capacity = $7,
       state = 'online', server_id = $8, connected_at = now(), last_seen_at = now(), updated_at = now()`,
    [d.id, d.name, d.hostname, d.version, d.tokenId, d.workspaces, d.capacity, d.serverId],
  );
}

export async function replaceDaemonAgents(q: Queryable, daemonId: string, agents: readonly AgentCheck[]): Promise<void> {
  await q.query('DELETE FROM daemon_agents WHERE daemon_id = $1', [daemonId]);
  if (agents.length === 0) return;
  await q.query(
    `INSERT INTO daemon_agents (daemon_id, name, binary_path, version, status, reason)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
    [daemonId, agents.map((a) => a.name), agents.map((a) => a.binary), agents.map((a) => a.version), agents.map((a) => a.status), agents.map((a) => a.reason)],
  );
}

export interface HealthReport {
  cpu: number;
  memUsedMb: number;
  memTotalMb?: number;
  agentsRssMb: number;
  active: number;
}

export async function recordHealth(q: Queryable, daemonId: string, h: HealthReport, throttled: boolean, reason: string | null): Promise<void> {
  await q.query(
    // throttled_since: when this throttled spell began (one daemon.throttled webhook event per spell).
    `UPDATE daemons SET health = $2, throttled = $3, throttle_reason = $4, throttled_since = CASE WHEN $3 THEN coalesce(throttled_since, now()) END,
       last_seen_at = now(), updated_at = now() WHERE id = $1`,
    [daemonId, JSON.stringify(h), throttled, reason],
  );
  await q.query(
    `INSERT INTO daemon_health (daemon_id, at, cpu, mem_used_mb, agents_rss_mb, active, throttled)
     VALUES ($1, now(), $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [daemonId, h.cpu, h.memUsedMb, h.agentsRssMb, h.active, throttled],
  );
}

/**
 * A sign of life: the runtime's row and the leases of everything it runs are
 * extended together, so a live runtime's tasks never look orphaned.
 */
export async function touchDaemon(q: Queryable, daemonId: string, leaseMs: number): Promise<void> {
  await q.query(`UPDATE daemons SET last_seen_at = now() WHERE id = $1`, [daemonId]);
  await q.query(
    `UPDATE tasks SET lease_expires_at = now() + make_interval(secs => $2::double precision / 1000)
     WHERE daemon_id = $1 AND status = 'executing'`,
    [daemonId, leaseMs],
  );
}

export async function markDaemonOffline(q: Queryable, daemonId: string, serverId: string): Promise<void> {
  // Only the server that holds the connection may mark it offline: the
  // runtime may already have reconnected to another server.
  await q.query(`UPDATE daemons SET state = 'offline', updated_at = now() WHERE id = $1 AND server_id = $2`, [daemonId, serverId]);
}

export async function markServerDaemonsOffline(q: Queryable, serverId: string): Promise<void> {
  await q.query(`UPDATE daemons SET state = 'offline', updated_at = now() WHERE server_id = $1 AND state = 'online'`, [serverId]);
}

/** Runtimes visible to a workspace (those that may serve it), or all of them. */
export async function listDaemons(q: Queryable, workspaceId: string | null): Promise<Daemon[]> {
  const { rows } = await q.query(
    `SELECT d.*,
       (SELECT count(*) FROM tasks t WHERE t.daemon_id = d.id AND t.status IN ('claimed', 'executing')) AS active_tasks,
       coalesce((SELECT json_agg(a ORDER BY a.name) FROM daemon_agents a WHERE a.daemon_id = d.id), '[]') AS agents
     FROM daemons d
     WHERE $1::text IS NULL OR d.workspaces IS NULL OR $1 = ANY (d.workspaces)
     ORDER BY d.state DESC, d.name, d.id`,
    [workspaceId],
  );
  return rows.map((r) => ({
    id: String(r.id),
    name: String(r.name),
    hostname: String(r.hostname),
    version: String(r.version),
    workspaces: (r.workspaces as string[] | null) ?? null,
    capacity: Number(r.capacity),
    state: r.state as Daemon['state'],
    throttled: Boolean(r.throttled),
    throttleReason: (r.throttle_reason as string | null) ?? null,
    health: (r.health as Daemon['health']) ?? null,
    activeTasks: Number(r.active_tasks),
    agents: (r.agents as Record<string, unknown>[]).map((a) => ({
      name: String(a.name),
      binary: (a.binary_path as string | null) ?? null,
      version: (a.version as string | null) ?? null,
      status: a.status as Daemon['agents'][number]['status'],
      reason: (a.reason as string | null) ?? null,
      checkedAt: iso(typeof a.checked_at === 'string' ? new Date(a.checked_at) : a.checked_at),
    })),
    connectedAt: isoOrNull(r.connected_at),
    lastSeenAt: isoOrNull(r.last_seen_at),
  }));
}

export async function daemonHealthHistory(q: Queryable, daemonId: string, limit = 120): Promise<{ at: string; cpu: number; memUsedMb: number }[]> {
  const { rows } = await q.query(
    `SELECT at, cpu, mem_used_mb FROM (SELECT * FROM daemon_health WHERE daemon_id = $1 ORDER BY at DESC LIMIT $2) h ORDER BY at`,
    [daemonId, limit],
  );
  return rows.map((r) => ({ at: iso(r.at), cpu: Number(r.cpu), memUsedMb: Number(r.mem_used_mb) }));
}

/**
 * Webhook subscriptions and their deliveries. The deliveries table is the
 * delivery queue: events are inserted as pending rows and the server's
 * worker (src/server/webhooks.ts) claims, sends and settles them, so a
 * delivery survives any server's restart. SQL of the hot paths in
 * src/store/sql/webhook_*.sql.
 *
 * Task events are queued in the transaction of the transition itself
 * (`enqueueTaskEvents`, called by recordTransitions): the change and its
 * event commit together or not at all, and the transition's guarded UPDATE
 * lets only one server make it. Runtime events are found by a sweep over the
 * daemons' rows (`enqueueDaemonEvents`). Both insert with ON CONFLICT on
 * (subscription, event key), so an event is queued once per subscription.
 */
import { eventIdFromKey, type CreatedWebhook, type DaemonSummary, type TaskSummary, type Webhook, type WebhookDelivery, type WebhookEvent, type WebhookFormat } from '../core/webhooks.js';
import type { Queryable } from './db.js';
import { decodeCursor, keysetPage, rethrowBadCursorTime } from './keysetCursor.js';
import { iso, isoOrNull, obj, str, type DbRow } from './rows.js';
import { sql } from './sql.js';

/** Transitions that are webhook events. */
const EVENT_STATUSES = new Set(['completed', 'failed', 'blocked', 'cancelled']);

// ------------------------------------------------------------ subscriptions

function secretPrefix(secret: string): string {
  return secret.startsWith('whsec_') ? secret.slice(0, 10) : secret.slice(0, 4);
}

function toWebhook(r: DbRow): Webhook {
  return {
    id: String(r.id),
    workspaceId: String(r.workspace_id),
    url: String(r.url),
    events: r.events as Webhook['events'],
    format: r.format as WebhookFormat,
    includeRetries: Boolean(r.include_retries),
    active: Boolean(r.active),
    description: (r.description as string | null) ?? null,
    secretPrefix: secretPrefix(String(r.secret)),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export interface NewSubscription {
  workspaceId: string;
  url: string;
  events: string[];
  format: WebhookFormat;
  includeRetries: boolean;
  active: boolean;
  description?: string | null;
  secret: string;
  createdBy?: string | null;
}

export async function createSubscription(q: Queryable, s: NewSubscription): Promise<CreatedWebhook> {
  const { rows } = await q.query(
    `INSERT INTO webhook_subscriptions (workspace_id, url, events, secret, format, include_retries, active, description, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
    [s.workspaceId, s.url, s.events, s.secret, s.format, s.includeRetries, s.active, s.description ?? null, s.createdBy ?? null],
  );
  return { ...toWebhook(rows[0]!), secret: s.secret };
}

export async function listSubscriptions(q: Queryable, workspaceId: string): Promise<Webhook[]> {
  const { rows } = await q.query('SELECT * FROM webhook_subscriptions WHERE workspace_id = $1 ORDER BY created_at, id', [workspaceId]);
  return rows.map(toWebhook);
}

/** A subscription of this workspace; another workspace's is undefined, like one that does not exist. */
export async function getSubscription(q: Queryable, workspaceId: string, id: string): Promise<Webhook | undefined> {
  const { rows } = await q.query('SELECT * FROM webhook_subscriptions WHERE id = $1 AND workspace_id = $2', [id, workspaceId]);
  return rows[0] ? toWebhook(rows[0]) : undefined;
}

export interface SubscriptionPatch {
  url?: string;
  events?: string[];
  format?: WebhookFormat;
  includeRetries?: boolean;
  active?: boolean;
  description?: string | null;
  secret?: string;
}

const COLUMNS: Record<keyof SubscriptionPatch, string> = {
  url: 'url',
  events: 'events',
  format: 'format',
  includeRetries: 'include_retries',
  active: 'active',
  description: 'description',
  secret: 'secret',
};

export async function updateSubscription(q: Queryable, workspaceId: string, id: string, patch: SubscriptionPatch): Promise<Webhook | undefined> {
  const params: unknown[] = [id, workspaceId];
  const sets = ['updated_at = now()'];
  for (const [key, column] of Object.entries(COLUMNS) as [keyof SubscriptionPatch, string][]) {
    if (patch[key] === undefined) continue;
    params.push(patch[key]);
    sets.push(`${column} = $${params.length}`);
  }
  const { rows } = await q.query(`UPDATE webhook_subscriptions SET ${sets.join(', ')} WHERE id = $1 AND workspace_id = $2 RETURNING *`, params);
  return rows[0] ? toWebhook(rows[0]) : undefined;
}

/** Deletes the subscription and its delivery log (pending deliveries included). */
export async function deleteSubscription(q: Queryable, workspaceId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM webhook_subscriptions WHERE id = $1 AND workspace_id = $2', [id, workspaceId]);
  return (rowCount ?? 0) > 0;
}

// ------------------------------------------------------------ deliveries

function toDelivery(r: DbRow): WebhookDelivery {
  return {
    id: String(r.id),
    webhookId: String(r.subscription_id),
    eventId: String(r.event_id),
    event: String(r.event),
    status: r.status as WebhookDelivery['status'],
    attempts: Number(r.attempts),
    nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
    lastAttemptAt: isoOrNull(r.last_attempt_at),
    lastStatus: r.last_status === null || r.last_status === undefined ? null : Number(r.last_status),
    lastError: (r.last_error as string | null) ?? null,
    deliveredAt: isoOrNull(r.delivered_at),
    createdAt: iso(r.created_at),
    payload: (r.payload as Record<string, unknown>) ?? {},
  };
}

interface NewDelivery {
  subscriptionId: string;
  key: string;
  event: WebhookEvent;
}

/** Queues deliveries; one that is already queued (same subscription and event key) is left alone. Answers the ids of new ones. */
export async function insertDeliveries(q: Queryable, items: readonly NewDelivery[]): Promise<string[]> {
  if (items.length === 0) return [];
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO webhook_deliveries (subscription_id, event_key, event_id, event, payload)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::jsonb[])
     ON CONFLICT (subscription_id, event_key) DO NOTHING
     RETURNING id`,
    [items.map((i) => i.subscriptionId), items.map((i) => i.key), items.map((i) => i.event.id), items.map((i) => i.event.type), items.map((i) => JSON.stringify(i.event))],
  );
  return rows.map((r) => r.id);
}

export async function getDelivery(q: Queryable, id: string): Promise<WebhookDelivery | undefined> {
  const { rows } = await q.query('SELECT * FROM webhook_deliveries WHERE id = $1', [id]);
  return rows[0] ? toDelivery(rows[0]) : undefined;
}

/** A subscription's deliveries, newest first, keyset-paginated on (created_at, id). */
export async function listDeliveries(
  q: Queryable,
  subscriptionId: string,
  f: { status?: string; limit: number; cursor?: string },
): Promise<{ items: WebhookDelivery[]; nextCursor: string | null }> {
  const after = f.cursor ? decodeCursor(f.cursor) : null;
  const { rows } = await q
    .query(
      `SELECT *, created_at::text AS created_at_text FROM webhook_deliveries
       WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2)
         AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
       ORDER BY created_at DESC, id DESC
       LIMIT $5`,
      [subscriptionId, f.status ?? null, after?.[0] ?? null, after?.[1] ?? null, f.limit + 1],
    )
    .catch(rethrowBadCursorTime(after));
  return keysetPage(rows, f.limit, toDelivery);
}

// ------------------------------------------------------------ producing events

function taskSummary(r: DbRow): TaskSummary {
  const willRetry = r.status === 'failed' && r.run_after !== null && r.run_after !== undefined;
  const head = String(r.prompt_head ?? '');
  const title = (head.split('\n').find((l) => l.trim() !== '') ?? '').trim();
  return {
    id: String(r.id),
    status: String(r.status),
    assignedAgent: String(r.assigned_agent),
    model: str(r.model),
    title: title.length > 200 ? `${title.slice(0, 199)}…` : title,
    attempt: Number(r.attempt),
    maxAttempts: Number(r.max_attempts),
    statusReason: str(r.status_reason),
    priority: Number(r.priority),
    metadata: obj(r.metadata) ?? {},
    groupId: str(r.group_id),
    repo: str(r.repo),
    createdAt: iso(r.created_at),
    finishedAt: isoOrNull(r.finished_at),
    willRetry,
    retryAt: willRetry ? isoOrNull(r.run_after) : null,
    question: r.status === 'blocked' ? str(r.question) : null,
    result: str(r.result_head),
    failureClass: str(r.failure_class),
    failureReason: str(r.failure_reason),
    exitCode: r.exit_code === null || r.exit_code === undefined ? null : Number(r.exit_code),
    usage: obj(r.usage),
    costUsd: r.cost_usd === null || r.cost_usd === undefined ? null : Number(r.cost_usd),
  };
}

/**
 * Queues the webhook events of these transitions, in the caller's
 * transaction (see the file comment). Transitions to other states cost
 * nothing; the four event states cost one query, and one insert when some
 * subscription wants the event.
 */
export async function enqueueTaskEvents(q: Queryable, transitions: readonly { taskId: string; to: string }[]): Promise<void> {
  const ids = [...new Set(transitions.filter((t) => EVENT_STATUSES.has(t.to)).map((t) => t.taskId))];
  if (ids.length === 0) return;
  const { rows } = await q.query(sql('webhook_task_events'), [ids]);
  if (rows.length === 0) return;
  await insertDeliveries(
    q,
    rows.map((r) => {
      // The transition's id makes the key: a task that fails, is retried by hand and fails again sends two events.
      const key = `task:${String(r.id)}:${String(r.transition_id)}`;
      const event: WebhookEvent = { id: eventIdFromKey(key), type: `task.${String(r.status)}` as WebhookEvent['type'], occurredAt: iso(r.occurred_at), workspaceId: String(r.workspace_id), data: { task: taskSummary(r) } };
      return { subscriptionId: String(r.subscription_id), key, event };
    }),
  );
}

function daemonSummary(r: DbRow): DaemonSummary {
  return {
    id: String(r.id),
    name: String(r.name),
    hostname: String(r.hostname),
    state: String(r.state),
    throttled: Boolean(r.throttled),
    throttleReason: str(r.throttle_reason),
    workspaces: (r.workspaces as string[] | null) ?? null,
    connectedAt: isoOrNull(r.connected_at),
    lastSeenAt: isoOrNull(r.last_seen_at),
    throttledSince: isoOrNull(r.throttled_since),
  };
}

/** Queues the runtime events that are due (webhook_daemon_events.sql); answers how many were new. */
export async function enqueueDaemonEvents(q: Queryable, offlineAfterMs: number, throttledAfterMs: number): Promise<number> {
  const { rows } = await q.query(sql('webhook_daemon_events'), [offlineAfterMs, throttledAfterMs]);
  const ids = await insertDeliveries(
    q,
    rows.map((r) => {
      const key = String(r.event_key);
      const event: WebhookEvent = { id: eventIdFromKey(key), type: r.event as WebhookEvent['type'], occurredAt: iso(r.since), workspaceId: String(r.subscription_workspace), data: { daemon: daemonSummary(r) } };
      return { subscriptionId: String(r.subscription_id), key, event };
    }),
  );
  return ids.length;
}

// ------------------------------------------------------------ the worker's side

export interface ClaimedDelivery {
  id: string;
  subscriptionId: string;
  workspaceId: string;
  eventId: string;
  event: string;
  payload: WebhookEvent;
  /** This attempt's number (1 = the first). */
  attempt: number;
  url: string;
  secret: string;
  format: WebhookFormat;
}

export async function claimDeliveries(q: Queryable, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  if (limit <= 0) return [];
  const { rows } = await q.query(sql('webhook_claim'), [limit, leaseMs]);
  return rows.map((r) => ({
    id: String(r.id),
    subscriptionId: String(r.subscription_id),
    workspaceId: String(r.workspace_id),
    eventId: String(r.event_id),
    event: String(r.event),
    payload: r.payload as WebhookEvent,
    attempt: Number(r.attempts),
    url: String(r.url),
    secret: String(r.secret),
    format: r.format as WebhookFormat,
  }));
}

/**
 * The outcome of one attempt. Guarded by the attempt number: a worker whose
 * lease ran out (and whose delivery another server took) changes nothing.
 * A failure is retried after `retryInMs`, or the delivery fails for good once
 * `maxAttempts` attempts were made. Answers the status the delivery has now.
 */
export async function settleDelivery(
  q: Queryable,
  d: { id: string; attempt: number },
  outcome: { ok: true; httpStatus: number } | { ok: false; httpStatus: number | null; error: string; retryInMs: number; maxAttempts: number },
): Promise<WebhookDelivery['status'] | undefined> {
  if (outcome.ok) {
    const { rows } = await q.query<{ status: WebhookDelivery['status'] }>(
      `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status = $3, last_error = NULL, updated_at = now()
       WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING status`,
      [d.id, d.attempt, outcome.httpStatus],
    );
    return rows[0]?.status;
  }
  const { rows } = await q.query<{ status: WebhookDelivery['status'] }>(
    `UPDATE webhook_deliveries
     SET status = CASE WHEN attempts >= $6 THEN 'failed' ELSE 'pending' END,
         next_attempt_at = now() + make_interval(secs => $5::double precision / 1000),
         last_status = $3, last_error = $4, updated_at = now()
     WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING status`,
    [d.id, d.attempt, outcome.httpStatus, outcome.error.slice(0, 1000), outcome.retryInMs, outcome.maxAttempts],
  );
  return rows[0]?.status;
}

/** Gives a claimed delivery back uncounted and due at once (the server is stopping mid-request). */
export async function releaseDelivery(q: Queryable, d: { id: string; attempt: number }): Promise<void> {
  await q.query(
    `UPDATE webhook_deliveries SET attempts = attempts - 1, next_attempt_at = now(), updated_at = now()
     WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
    [d.id, d.attempt],
  );
}

/** Deletes delivered and failed deliveries older than `retentionMs`, at most `limit` per call. */
export async function trimDeliveries(q: Queryable, retentionMs: number, limit = 10_000): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM webhook_deliveries WHERE id IN (
       SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < now() - make_interval(secs => $1::double precision / 1000) LIMIT $2)`,
    [retentionMs, limit],
  );
  return rowCount ?? 0;
}

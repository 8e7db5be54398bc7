/**
 * Outgoing webhooks (issue 9): the events a workspace can subscribe to, the
 * JSON body each delivery carries, its Slack incoming-webhook rendering and
 * the signature, plus the API's schemas for subscriptions and deliveries.
 * Pure: the store builds events from rows with these functions, the server's
 * delivery worker renders and signs them, and a receiver can check a
 * signature with the same three lines as `signBody`.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { workspaceId } from './api.js';

export const WEBHOOK_EVENTS = ['task.completed', 'task.failed', 'task.blocked', 'task.cancelled', 'daemon.offline', 'daemon.throttled'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];
/** What `POST /webhooks/:id/test` sends, whatever the subscription's events. */
export const TEST_EVENT = 'webhook.test';

export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

/** The task as an event reports it: what a receiver needs to act, not the whole row (no prompt beyond its first line, no transcript). */
export interface TaskSummary {
  id: string;
  status: string;
  assignedAgent: string;
  model: string | null;
  /** The prompt's first line, at most 200 characters. */
  title: string;
  attempt: number;
  maxAttempts: number;
  statusReason: string | null;
  priority: number;
  metadata: Record<string, unknown>;
  groupId: string | null;
  repo: string | null;
  createdAt: string;
  finishedAt: string | null;
  /** task.failed only: true when an automatic retry is scheduled (subscriptions with includeRetries). */
  willRetry: boolean;
  retryAt: string | null;
  /** task.blocked: the agent's question. */
  question: string | null;
  /** The agent's final answer, at most 2,000 characters. */
  result: string | null;
  failureClass: string | null;
  failureReason: string | null;
  exitCode: number | null;
  usage: Record<string, unknown> | null;
  costUsd: number | null;
}

export interface DaemonSummary {
  id: string;
  name: string;
  hostname: string;
  state: string;
  throttled: boolean;
  throttleReason: string | null;
  /** null: it may serve every workspace. */
  workspaces: string[] | null;
  connectedAt: string | null;
  lastSeenAt: string | null;
  throttledSince: string | null;
}

/** The body of a `json` delivery, byte for byte what is signed. */
export interface WebhookEvent {
  /** The same for every subscription that receives this event; a receiver may dedupe on it. */
  id: string;
  type: WebhookEventType | typeof TEST_EVENT;
  /** When it happened (the transition, the runtime's last sign of life, the start of its throttling). */
  occurredAt: string;
  workspaceId: string;
  data: { task?: TaskSummary; daemon?: DaemonSummary; message?: string };
}

/** A stable event id from the event's dedupe key: every subscription's delivery of one event carries the same id. */
export function eventIdFromKey(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  // Laid out as a UUID (version 8, "custom"), so it reads like the other ids.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** `X-Switchyard-Signature`: `sha256=` and the hex HMAC-SHA256 of the raw body, keyed with the subscription's secret. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

// ------------------------------------------------------------ rendering

export function renderBody(event: WebhookEvent, format: WebhookFormat): string {
  return JSON.stringify(format === 'slack' ? slackMessage(event) : event);
}

/** Slack's mrkdwn treats these three as markup. */
const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

const HEADLINE: Record<WebhookEvent['type'], [emoji: string, words: string]> = {
  'task.completed': [':white_check_mark:', 'Task completed'],
  'task.failed': [':x:', 'Task failed'],
  'task.blocked': [':raising_hand:', 'Task needs an answer'],
  'task.cancelled': [':no_entry_sign:', 'Task cancelled'],
  'daemon.offline': [':electric_plug:', 'Runtime offline'],
  'daemon.throttled': [':hourglass_flowing_sand:', 'Runtime throttled'],
  'webhook.test': [':wave:', 'Test event'],
};

/** An incoming-webhook message (`{ text, blocks }`): `text` is the notification's fallback, `blocks` the message. */
export function slackMessage(e: WebhookEvent): { text: string; blocks: Record<string, unknown>[] } {
  const [emoji, words] = HEADLINE[e.type];
  const t = e.data.task;
  const d = e.data.daemon;
  let subject: string;
  const lines: string[] = [];
  const context: string[] = [`workspace \`${esc(e.workspaceId)}\``];
  if (t) {
    subject = t.title || t.id;
    if (t.willRetry) lines.push(`Attempt ${t.attempt} of ${t.maxAttempts} failed; retry at ${t.retryAt ?? 'soon'}.`);
    if (t.failureClass || t.failureReason) lines.push(`*${esc(t.failureClass ?? 'failed')}*: ${esc(cut(t.failureReason ?? t.statusReason ?? '', 500))}`);
    if (t.question) lines.push(`*Question:* ${esc(cut(t.question, 1000))}`);
    if (t.result && t.status === 'completed') lines.push(esc(cut(t.result, 1500)));
    context.push(`agent \`${esc(t.assignedAgent)}\``, `attempt ${t.attempt}/${t.maxAttempts}`, `task \`${t.id}\``);
  } else if (d) {
    subject = d.name;
    if (d.throttleReason && e.type === 'daemon.throttled') lines.push(esc(d.throttleReason));
    if (e.type === 'daemon.offline') lines.push(`Last seen ${d.lastSeenAt ?? 'never'}.`);
    context.push(`host \`${esc(d.hostname)}\``, `runtime \`${d.id}\``);
  } else {
    subject = e.data.message ?? 'Switchyard can reach this webhook';
  }
  const headline = `${emoji} *${words}*: ${esc(cut(subject, 200))}`;
  const blocks: Record<string, unknown>[] = [{ type: 'section', text: { type: 'mrkdwn', text: [headline, ...lines].join('\n') } }, { type: 'context', elements: context.map((text) => ({ type: 'mrkdwn', text })) }];
  return { text: `${emoji} ${words}: ${cut(subject, 200)}`, blocks };
}

// ------------------------------------------------------------ API schemas

const isoTime = z.string().describe('ISO-8601 time');
const eventType = z.enum(WEBHOOK_EVENTS);
const webhookUrl = z
  .string()
  .max(2000)
  .url('expected an http(s) URL')
  .refine((u) => /^https?:\/\//i.test(u), 'expected an http:// or https:// URL');
const events = z
  .array(eventType)
  .min(1)
  .max(WEBHOOK_EVENTS.length)
  .refine((a) => new Set(a).size === a.length, 'lists an event twice');
const description = z.string().trim().max(500).refine((s) => !s.includes('\u0000'), 'must not contain NUL (\\u0000) characters');

export const webhook = z.object({
  id: z.string(),
  workspaceId: z.string(),
  url: z.string(),
  events: z.array(eventType),
  format: z.enum(WEBHOOK_FORMATS),
  /** task.failed also for failed attempts that will be retried (`willRetry: true`); by default only the final failure. */
  includeRetries: z.boolean(),
  active: z.boolean(),
  description: z.string().nullable(),
  /** The secret's first characters, to tell secrets apart; the secret itself is shown only when created or rotated. */
  secretPrefix: z.string(),
  createdAt: isoTime,
  updatedAt: isoTime,
});
export type Webhook = z.infer<typeof webhook>;
export const createdWebhook = webhook.extend({ secret: z.string().describe('The signing secret; shown in this answer only') });
export type CreatedWebhook = z.infer<typeof createdWebhook>;
/** PATCH answers the secret only when it rotated it. */
export const updatedWebhook = webhook.extend({ secret: z.string().optional() });

export const createWebhookBody = z
  .object({
    url: webhookUrl,
    events,
    format: z.enum(WEBHOOK_FORMATS).default('json'),
    includeRetries: z.boolean().default(false),
    active: z.boolean().default(true),
    description: description.optional(),
    /** Your own signing secret (16–200 characters); by default a random one is made. */
    secret: z.string().min(16).max(200).regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces').optional(),
  })
  .strict();
export type CreateWebhookBody = z.input<typeof createWebhookBody>;

export const updateWebhookBody = z
  .object({
    url: webhookUrl.optional(),
    events: events.optional(),
    format: z.enum(WEBHOOK_FORMATS).optional(),
    includeRetries: z.boolean().optional(),
    /** false pauses it: no new events are queued, and queued ones wait until it is active again. */
    active: z.boolean().optional(),
    description: description.nullable().optional(),
    /** Replace the secret with a new random one (answered once, in `secret`). */
    rotateSecret: z.literal(true).optional(),
  })
  .strict();
export type UpdateWebhookBody = z.infer<typeof updateWebhookBody>;

export const webhookDelivery = z.object({
  id: z.string().describe('Sent as X-Switchyard-Delivery'),
  webhookId: z.string(),
  eventId: z.string(),
  event: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  /** pending: when the next attempt is due. */
  nextAttemptAt: isoTime.nullable(),
  lastAttemptAt: isoTime.nullable(),
  /** The receiver's HTTP status of the last attempt (null: no answer). */
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: isoTime.nullable(),
  createdAt: isoTime,
  /** The event (the `json` body; `slack` subscriptions receive its rendering). */
  payload: z.record(z.string(), z.unknown()),
});
export type WebhookDelivery = z.infer<typeof webhookDelivery>;
export const deliveriesPage = z.object({ items: z.array(webhookDelivery), nextCursor: z.string().nullable() });

export const deliveriesQuery = z
  .object({
    workspace: workspaceId.optional(),
    status: z.enum(DELIVERY_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(20),
    cursor: z.string().max(200).optional(),
  })
  .strict();

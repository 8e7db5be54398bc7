/**
 * The webhook delivery worker: every server runs one over the shared
 * deliveries table (src/store/webhooks.ts). Each pass claims due deliveries
 * (FOR UPDATE SKIP LOCKED, as a lease), POSTs them signed, and records the
 * outcome: delivered on a 2xx, otherwise retried with exponential backoff
 * until `webhooks.max_attempts`, then failed. It also sweeps the runtimes'
 * rows for daemon.offline / daemon.throttled events and trims old deliveries.
 *
 * Delivery is at least once: a server that dies after the receiver answered
 * but before the outcome was stored leaves the delivery due again when its
 * lease runs out. Receivers dedupe on X-Switchyard-Delivery (or the body's
 * event id).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Orchestrator } from '../core/config/index.js';
import { ConflictError, coerceError } from '../core/errors.js';
import { backoffDelay } from '../core/retryPolicy.js';
import { eventIdFromKey, renderBody, signBody, TEST_EVENT, type Webhook, type WebhookDelivery, type WebhookEvent } from '../core/webhooks.js';
import type { Db } from '../store/db.js';
import { claimDeliveries, enqueueDaemonEvents, getDelivery, insertDeliveries, releaseDelivery, settleDelivery, trimDeliveries, type ClaimedDelivery } from '../store/webhooks.js';
import type { Bus } from './bus.js';

export interface WebhookWorkerDeps {
  db: Db;
  bus: Bus;
  config: Orchestrator;
  log: Logger;
  version: string;
  /** A runtime silent this long is offline (the reaper's limit); daemon.offline waits as long. */
  offlineAfterMs: number;
}

export interface WebhookWorker {
  start(): void;
  /** Look for due deliveries now (an event was just queued). */
  wake(): void;
  /** Queues a `webhook.test` event for this subscription, whatever its events, and answers the delivery. */
  sendTest(sub: Webhook): Promise<WebhookDelivery>;
  /** Stops claiming; requests in flight are aborted and their deliveries given back, due at once. */
  stop(): Promise<void>;
}

const EVENT_STATUSES = new Set(['completed', 'failed', 'blocked', 'cancelled']);
/** What stop() aborts in-flight requests with, to tell it from a timeout. */
const STOPPING = new Error('the server is stopping');
const SWEEP_EVERY_MS = 1_000;
const TRIM_EVERY_MS = 3_600_000;

export function createWebhookWorker(deps: WebhookWorkerDeps): WebhookWorker {
  const { db, bus, log } = deps;
  const s = deps.config.webhooks;
  const backoff = { baseMs: s.backoff_base, capMs: s.backoff_cap };
  // The claim's lease outlasts the request's timeout, so a live server always settles before anyone else may take it.
  const leaseMs = s.timeout + 30_000;
  // Two health reports in a row over the threshold make a throttled spell worth telling.
  const throttledAfterMs = 2 * deps.config.runtime.health_check_interval;
  const inflight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const unsubscribe: (() => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let passing = false;
  let again = false;
  let lastSweep = 0;
  let lastTrim = 0;

  /** One pass: queue due runtime events (at most once a second), trim (hourly), claim what is due and send it. */
  async function pass(tick: boolean): Promise<void> {
    if (passing) {
      again = true;
      return;
    }
    passing = true;
    try {
      do {
        again = false;
        if (!running) break;
        const now = Date.now();
        if (tick && now - lastSweep >= SWEEP_EVERY_MS) {
          lastSweep = now;
          const queued = await enqueueDaemonEvents(db, deps.offlineAfterMs, throttledAfterMs);
          if (queued > 0) log.info({ queued }, 'runtime events queued for webhooks');
        }
        if (tick && now - lastTrim >= TRIM_EVERY_MS) {
          lastTrim = now;
          const trimmed = await trimDeliveries(db, s.retention);
          if (trimmed > 0) log.info({ trimmed }, 'old webhook deliveries deleted');
        }
        const free = s.concurrency - inflight.size;
        if (free <= 0) break;
        const claimed = await claimDeliveries(db, free, leaseMs);
        for (const d of claimed) track(d);
        // A full claim may have left more due behind it.
        if (claimed.length === free) again = inflight.size < s.concurrency;
        tick = false;
      } while (again && running);
    } catch (err) {
      log.warn({ err: coerceError(err) }, 'webhook pass failed; retrying at the next poll');
    } finally {
      passing = false;
    }
  }

  function track(d: ClaimedDelivery): void {
    const abort = new AbortController();
    const done = send(d, abort)
      .catch((err: unknown) => log.error({ err: coerceError(err), deliveryId: d.id }, 'settling a webhook delivery failed; it is retried when its lease runs out'))
      .finally(() => {
        inflight.delete(d.id);
        // A slot is free: anything due that a full claim left behind goes now.
        if (running) void pass(false);
      });
    inflight.set(d.id, { abort, done });
  }

  async function send(d: ClaimedDelivery, abort: AbortController): Promise<void> {
    const dlog = log.child({ deliveryId: d.id, webhookId: d.subscriptionId, workspaceId: d.workspaceId, event: d.event, attempt: d.attempt, maxAttempts: s.max_attempts });
    const body = renderBody(d.payload, d.format);
    const started = Date.now();
    const timeout = setTimeout(() => abort.abort(new Error(`no answer within ${s.timeout} ms (webhooks.timeout)`)), s.timeout);
    let httpStatus: number | null = null;
    let error: string | undefined;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': `Switchyard-Webhooks/${deps.version}`,
          'x-switchyard-event': d.event,
          'x-switchyard-delivery': d.id,
          'x-switchyard-attempt': String(d.attempt),
          'x-switchyard-timestamp': String(Math.floor(Date.now() / 1000)),
          'x-switchyard-signature': signBody(d.secret, body),
        },
        body,
        // A redirect is an answer to fix in the subscription, not one to follow with a signed body.
        redirect: 'manual',
        signal: abort.signal,
      });
      httpStatus = res.status;
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}${await excerpt(res)}`;
      else await res.body?.cancel();
    } catch (err) {
      if (abort.signal.reason === STOPPING) {
        // Not the receiver's fault: given back uncounted, due at once for whichever server runs next.
        await releaseDelivery(db, d);
        dlog.info('webhook delivery given back: the server is stopping');
        return;
      }
      error = describeFetchError(err, abort.signal);
    } finally {
      clearTimeout(timeout);
    }
    const durationMs = Date.now() - started;
    if (error === undefined) {
      await settleDelivery(db, d, { ok: true, httpStatus: httpStatus ?? 200 });
      dlog.info({ httpStatus, durationMs }, 'webhook delivered');
      return;
    }
    // Equal jitter: the retry waits at least half of base · 2^(attempt−1), so a receiver that is down is not hit again at once.
    const retryInMs = backoffDelay(d.attempt, 0.5 + Math.random() / 2, backoff);
    const status = await settleDelivery(db, d, { ok: false, httpStatus, error, retryInMs, maxAttempts: s.max_attempts });
    if (status === 'failed') dlog.warn({ httpStatus, durationMs, error }, 'webhook delivery failed for good');
    else dlog.info({ httpStatus, durationMs, error, retryInMs }, 'webhook delivery failed; will retry');
  }

  function wake(): void {
    if (running) void pass(false);
  }

  return {
    start() {
      if (running) return;
      running = true;
      timer = setInterval(() => void pass(true), s.poll_interval);
      timer.unref();
      // A task event was just committed (here or, through NOTIFY, on another server): send it now, not at the next poll.
      unsubscribe.push(bus.subscribe('task', (p) => EVENT_STATUSES.has(String(p.status)) && wake()));
      void pass(true);
    },
    wake,
    async sendTest(sub) {
      if (!sub.active) throw new ConflictError(`webhook ${sub.id} is paused (active: false); activate it to send a test event`);
      const key = `test:${randomUUID()}`;
      const event: WebhookEvent = {
        id: eventIdFromKey(key),
        type: TEST_EVENT,
        occurredAt: new Date().toISOString(),
        workspaceId: sub.workspaceId,
        data: { message: 'A test event from Switchyard: this webhook is reachable and its signature can be checked.' },
      };
      const [id] = await insertDeliveries(db, [{ subscriptionId: sub.id, key, event }]);
      wake();
      return (await getDelivery(db, id!))!;
    },
    async stop() {
      running = false;
      clearInterval(timer);
      for (const u of unsubscribe.splice(0)) u();
      const pending = [...inflight.values()];
      for (const f of pending) f.abort.abort(STOPPING);
      await Promise.allSettled(pending.map((f) => f.done));
    },
  };
}

/** The start of an error answer's body (Slack explains a refused payload there), on one line. */
async function excerpt(res: Response): Promise<string> {
  try {
    const text = (await res.text()).replace(/\s+/g, ' ').trim();
    return text ? `: ${text.length > 200 ? `${text.slice(0, 199)}…` : text}` : '';
  } catch {
    return '';
  }
}

/** fetch says "fetch failed"; the reason (refused, DNS, reset, timeout) is in its cause. */
function describeFetchError(err: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof Error) return signal.reason.message;
  const e = coerceError(err);
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.message ?? e.message} (${cause.code})`;
  return cause?.message ?? e.message;
}

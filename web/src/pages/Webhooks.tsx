/**
 * The Webhooks section of the Settings page (issue 9): a workspace's
 * subscriptions with their state, a form to add or change one, pause and
 * resume, secret rotation and deletion (each confirmed), and per webhook its
 * delivery log with a "Send test event" action. Only workspace admins may
 * see webhooks at all (the API answers 403 to others), so other roles get a
 * notice saying so instead.
 *
 * The signing secret is answered by the server twice in a webhook's life —
 * when it is created and when it is rotated — so it is shown from the answer
 * of that call and kept in this component's state only until dismissed.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { errorMessage } from '../api/http.js';
import { keys } from '../api/live.js';
import {
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_EVENT_TYPES,
  type CreateWebhookBody,
  type Webhook,
  type WebhookDelivery,
  type WebhookEventType,
  type WebhookFormat,
} from '../api/types.js';
import { Command, ErrorNotice, Loading, Notice, StatusBadge } from '../components/common.js';
import { ago, time } from '../format.js';
import { useSession } from '../session.js';

const EVENT_HINTS: Record<WebhookEventType, string> = {
  'task.completed': 'a run completed the task',
  'task.failed': 'the task failed for good (no retry left)',
  'task.blocked': 'the agent asked a question',
  'task.cancelled': 'the task was cancelled',
  'daemon.offline': 'a runtime serving the workspace went silent',
  'daemon.throttled': 'a runtime stayed over its CPU or memory threshold',
};

export function WebhooksSection() {
  const { canAdmin, me, workspace } = useSession();
  if (!canAdmin) {
    return (
      <section className="card" aria-labelledby="webhooks-title" data-testid="webhooks">
        <h2 id="webhooks-title">Webhooks</h2>
        <Notice title="Managing webhooks needs an admin token of this workspace" testId="webhooks-not-admin">
          This session is a <strong>{me.role}</strong> token of {workspace}. Webhooks, their signing secrets and their delivery logs are shown to workspace
          admins only; ask one to add a webhook, or to create an admin token for you.
        </Notice>
      </section>
    );
  }
  return <WebhooksAdmin />;
}

interface ShownSecret {
  webhookId: string;
  url: string;
  secret: string;
  why: 'created' | 'rotated';
}

function WebhooksAdmin() {
  const { api, workspace } = useSession();
  const qc = useQueryClient();
  // Read afresh whenever the section opens: webhooks change from the CLI and the API too, and the list is small.
  const list = useQuery({ queryKey: keys.webhooks(workspace), queryFn: () => api.webhooks(), staleTime: 0 });
  const [adding, setAdding] = useState(false);
  const [secret, setSecret] = useState<ShownSecret>();
  const title = useRef<HTMLHeadingElement>(null);
  const create = useMutation({
    mutationFn: (body: CreateWebhookBody) => api.createWebhook(body),
    onSuccess: (w) => {
      setSecret({ webhookId: w.id, url: w.url, secret: w.secret, why: 'created' });
      setAdding(false);
      void qc.invalidateQueries({ queryKey: keys.webhooks(workspace) });
    },
  });
  const hooks = list.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="webhooks-title" data-testid="webhooks">
      <div className="section-head">
        <h2 id="webhooks-title" ref={title} tabIndex={-1}>
          Webhooks of {workspace}
        </h2>
        {!adding && (
          <button type="button" className="primary" onClick={() => (create.reset(), setAdding(true))}>
            New webhook
          </button>
        )}
      </div>
      <p className="muted small">
        Switchyard POSTs each chosen event to the URL, signed with the webhook's secret (<code>X-Switchyard-Signature</code>, HMAC-SHA256 of the body), and
        retries with backoff until the receiver answers 2xx.
      </p>
      {secret?.why === 'created' && <SecretNotice shown={secret} onDone={() => setSecret(undefined)} />}
      {adding && (
        <div id="webhook-new">
          <WebhookForm
            title="New webhook"
            submitLabel="Create webhook"
            pending={create.isPending}
            error={create.error}
            onSubmit={({ description, ...body }) => create.mutate({ ...body, ...(description ? { description } : {}) })}
            onCancel={() => {
              setAdding(false);
              title.current?.focus();
            }}
          />
        </div>
      )}
      {list.isPending ? (
        <Loading what="webhooks" />
      ) : list.error ? (
        <ErrorNotice error={list.error} what="webhooks" />
      ) : hooks.length === 0 ? (
        !adding && <p className="muted">No webhooks yet. Add one to tell a pipeline or a Slack channel when tasks finish, fail or need an answer.</p>
      ) : (
        <ul className="webhooks plain">
          {hooks.map((w) => (
            <WebhookItem
              key={w.id}
              w={w}
              secret={secret?.webhookId === w.id && secret.why === 'rotated' ? secret : undefined}
              onSecret={setSecret}
              onDeleted={() => {
                if (secret?.webhookId === w.id) setSecret(undefined);
                title.current?.focus();
              }}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

/** The secret, once: focused when it appears so keyboard and screen-reader users land on it. */
function SecretNotice({ shown, onDone }: { shown: ShownSecret; onDone(): void }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), [shown]);
  return (
    <div ref={box} tabIndex={-1} className="focus-target">
      <Notice
        kind="ok"
        testId="webhook-secret"
        title={shown.why === 'created' ? 'Webhook created — copy its signing secret now' : 'Secret rotated — copy the new signing secret now'}
      >
        <p>
          You will not see it again: the server answers it only {shown.why === 'created' ? 'when a webhook is created' : 'when the secret is rotated'}. Give it to
          the receiver at <code className="wrap">{shown.url}</code> to check <code>X-Switchyard-Signature</code>
          {shown.why === 'rotated' ? '; deliveries are signed with the new secret from now on, so the old one no longer matches.' : '.'} Lost it? Rotate the
          secret.
        </p>
        <Command copyLabel="Copy secret">{shown.secret}</Command>
        <button type="button" className="ghost small" onClick={onDone}>
          I saved it, hide it
        </button>
      </Notice>
    </div>
  );
}

function WebhookForm(props: {
  title: string;
  submitLabel: string;
  initial?: Webhook;
  pending: boolean;
  error: unknown;
  onSubmit(body: { url: string; events: WebhookEventType[]; format: WebhookFormat; includeRetries: boolean; description: string | null }): void;
  onCancel(): void;
}) {
  const { initial } = props;
  const id = useId();
  const [url, setUrl] = useState(initial?.url ?? '');
  const [events, setEvents] = useState<readonly WebhookEventType[]>(initial?.events ?? ['task.completed', 'task.failed']);
  const [format, setFormat] = useState<WebhookFormat>(initial?.format ?? 'json');
  const [includeRetries, setIncludeRetries] = useState(initial?.includeRetries ?? false);
  const [description, setDescription] = useState(initial?.description ?? '');
  const toggle = (e: WebhookEventType, on: boolean) => setEvents((old) => WEBHOOK_EVENT_TYPES.filter((x) => (x === e ? on : old.includes(x))));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (events.length === 0) return;
    props.onSubmit({ url: url.trim(), events: [...events], format, includeRetries, description: description.trim() || null });
  };
  return (
    <form className="form webhook-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{props.title}</h3>
      <fieldset disabled={props.pending}>
        <label htmlFor={`${id}-url`}>URL</label>
        <input
          id={`${id}-url`}
          type="url"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          required
          autoFocus
          placeholder="https://ci.example.com/switchyard"
          aria-describedby={`${id}-url-hint`}
        />
        <p className="field-hint" id={`${id}-url-hint`}>
          An http(s) address the server can reach. For Slack, paste the channel's incoming-webhook URL and pick the Slack format.
        </p>
        <fieldset className="events" aria-describedby={`${id}-events-hint`}>
          <legend className="label">Events</legend>
          <div className="check-grid">
            {WEBHOOK_EVENT_TYPES.map((e) => (
              <label className="check" key={e}>
                <input type="checkbox" checked={events.includes(e)} onChange={(ev) => toggle(e, ev.target.checked)} />
                <span>
                  <code>{e}</code> <span className="muted small">{EVENT_HINTS[e]}</span>
                </span>
              </label>
            ))}
          </div>
          <p className={`field-hint${events.length === 0 ? ' warn' : ''}`} id={`${id}-events-hint`}>
            {events.length === 0 ? 'Pick at least one event.' : 'A test event can be sent whatever is picked here.'}
          </p>
        </fieldset>
        <div className="grid-2">
          <div>
            <label htmlFor={`${id}-format`}>Format</label>
            <select id={`${id}-format`} value={format} onChange={(e) => setFormat(e.target.value as WebhookFormat)}>
              <option value="json">JSON (the event as is)</option>
              <option value="slack">Slack (an incoming-webhook message)</option>
            </select>
          </div>
          <div>
            <label htmlFor={`${id}-description`}>Description (optional)</label>
            <input id={`${id}-description`} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={500} placeholder="CI pipeline, #alerts" />
          </div>
        </div>
        <label className="check">
          <input type="checkbox" checked={includeRetries} onChange={(e) => setIncludeRetries(e.target.checked)} aria-describedby={`${id}-retries-hint`} /> Include
          retries
        </label>
        <p className="field-hint" id={`${id}-retries-hint`}>
          With <code>task.failed</code>: also send each failed attempt that will be retried (<code>willRetry: true</code>), not only the final failure.
        </p>
      </fieldset>
      {props.error !== null && props.error !== undefined && (
        <Notice kind="error" title="Not saved">
          {errorMessage(props.error)}
        </Notice>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={props.pending || events.length === 0}>
          {props.pending ? 'Saving…' : props.submitLabel}
        </button>
        <button type="button" className="ghost" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

type Confirming = 'rotate' | 'delete' | undefined;

function WebhookItem({ w, secret, onSecret, onDeleted }: { w: Webhook; secret?: ShownSecret; onSecret(s: ShownSecret | undefined): void; onDeleted(): void }) {
  const { api, workspace } = useSession();
  const qc = useQueryClient();
  const id = useId();
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState<Confirming>();
  const [logOpen, setLogOpen] = useState(false);
  const [tested, setTested] = useState<string>();
  const refreshList = () => qc.invalidateQueries({ queryKey: keys.webhooks(workspace) });
  const update = useMutation({
    mutationFn: (body: Parameters<typeof api.updateWebhook>[1]) => api.updateWebhook(w.id, body),
    onSuccess: (updated) => {
      setEditing(false);
      setConfirming(undefined);
      if (updated.secret) onSecret({ webhookId: w.id, url: updated.url, secret: updated.secret, why: 'rotated' });
      void refreshList();
    },
  });
  const remove = useMutation({
    mutationFn: () => api.deleteWebhook(w.id),
    onSuccess: () => {
      qc.removeQueries({ queryKey: ['deliveries', w.id] });
      void refreshList();
      onDeleted();
    },
  });
  const test = useMutation({
    mutationFn: () => api.testWebhook(w.id),
    onSuccess: (d) => {
      setTested(d.id);
      setLogOpen(true);
      void qc.invalidateQueries({ queryKey: ['deliveries', w.id] });
    },
  });
  const error = update.error ?? remove.error ?? test.error;
  const busy = update.isPending || remove.isPending;
  return (
    <li>
      <article className="webhook" aria-labelledby={`${id}-url`} data-testid="webhook" data-webhook-id={w.id} data-active={String(w.active)}>
        <div className="webhook-head">
          <h3 id={`${id}-url`} className="webhook-url">
            {w.url}
          </h3>
          <span className={`badge status-${w.active ? 'active' : 'paused'}`} data-testid="webhook-state">
            {w.active ? 'active' : 'paused'}
          </span>
          <span className="badge">{w.format}</span>
        </div>
        {w.description && <p className="webhook-description">{w.description}</p>}
        <dl className="facts webhook-facts">
          <div className="fact-row">
            <dt>Events</dt>
            <dd className="event-list">
              {w.events.map((e) => (
                <code key={e}>{e}</code>
              ))}
              {w.includeRetries && <span className="muted small">(and retried failures)</span>}
            </dd>
          </div>
          <div className="fact-row">
            <dt>Secret</dt>
            <dd>
              <code>{w.secretPrefix}…</code>
            </dd>
          </div>
          <div className="fact-row">
            <dt>Created</dt>
            <dd title={time(w.createdAt)}>{ago(w.createdAt)}</dd>
          </div>
        </dl>
        {!w.active && (
          <p className="muted small" id={`${id}-paused`}>
            Paused: no new events are queued, and pending deliveries wait until it is resumed. Resume it to send a test event.
          </p>
        )}
        {secret && <SecretNotice shown={secret} onDone={() => onSecret(undefined)} />}
        {editing ? (
          <WebhookForm
            title="Change webhook"
            submitLabel="Save webhook"
            initial={w}
            pending={update.isPending}
            error={update.error}
            onSubmit={(body) => update.mutate(body)}
            onCancel={() => (update.reset(), setEditing(false))}
          />
        ) : confirming ? (
          <div className="confirm" role="group" aria-labelledby={`${id}-confirm`}>
            <p id={`${id}-confirm`}>
              {confirming === 'rotate'
                ? 'Rotate the signing secret? The new one is used at once: the receiver rejects deliveries until it has it.'
                : 'Delete this webhook? Its delivery log goes with it, and pending deliveries are dropped.'}
            </p>
            <div className="webhook-actions">
              <button
                type="button"
                className="danger small"
                autoFocus
                disabled={busy}
                onClick={() => (confirming === 'rotate' ? update.mutate({ rotateSecret: true }) : remove.mutate())}
              >
                {confirming === 'rotate' ? 'Rotate now' : 'Delete now'}
              </button>
              <button type="button" className="ghost small" onClick={() => setConfirming(undefined)}>
                Keep {confirming === 'rotate' ? 'the secret' : 'it'}
              </button>
            </div>
          </div>
        ) : (
          <div className="webhook-actions">
            <button
              type="button"
              className="small"
              onClick={() => test.mutate()}
              disabled={!w.active || test.isPending}
              aria-describedby={w.active ? undefined : `${id}-paused`}
            >
              {test.isPending ? 'Sending…' : 'Send test event'}
            </button>
            <button type="button" className="small" aria-expanded={logOpen} aria-controls={`${id}-log`} onClick={() => setLogOpen(!logOpen)}>
              {logOpen ? 'Hide deliveries' : 'Deliveries'}
            </button>
            <button type="button" className="small" onClick={() => (update.reset(), setEditing(true))}>
              Edit
            </button>
            <button type="button" className="small" disabled={busy} onClick={() => update.mutate({ active: !w.active })}>
              {w.active ? 'Pause' : 'Resume'}
            </button>
            <button type="button" className="danger-outline small" onClick={() => (update.reset(), setConfirming('rotate'))}>
              Rotate secret
            </button>
            <button type="button" className="danger-outline small" onClick={() => (remove.reset(), setConfirming('delete'))}>
              Delete
            </button>
          </div>
        )}
        <p className="visually-hidden" role="status">
          {tested ? 'Test event queued; it is the newest delivery in the log.' : ''}
        </p>
        {error && !editing && <Notice kind="error">{errorMessage(error)}</Notice>}
        {logOpen && (
          <div id={`${id}-log`}>
            <DeliveryLog webhookId={w.id} highlight={tested} />
          </div>
        )}
      </article>
    </li>
  );
}

/**
 * How soon to read the log again: right after the soonest pending delivery is
 * due (its attempt takes a moment), at least 1.5 s apart and at most 15 s, so
 * a test event turns delivered within seconds while a delivery backing off
 * for an hour does not poll every second. Nothing pending: no polling.
 */
export function deliveryRefetchMs(items: readonly WebhookDelivery[], now = Date.now()): number | false {
  const due = items.filter((d) => d.status === 'pending').map((d) => (d.nextAttemptAt ? Date.parse(d.nextAttemptAt) - now : 0));
  if (due.length === 0) return false;
  return Math.min(Math.max(Math.min(...due) + 500, 1_500), 15_000);
}

type StatusFilter = '' | WebhookDelivery['status'];

function DeliveryLog({ webhookId, highlight }: { webhookId: string; highlight?: string }) {
  const { api } = useSession();
  const id = useId();
  const [status, setStatus] = useState<StatusFilter>('');
  const log = useInfiniteQuery({
    queryKey: keys.deliveries(webhookId, status || 'all'),
    queryFn: ({ pageParam }) => api.webhookDeliveries(webhookId, { status: status || undefined, cursor: pageParam, limit: 20 }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: (q) => deliveryRefetchMs(q.state.data?.pages.flatMap((p) => p.items) ?? []),
  });
  const items = log.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="delivery-log" data-testid="delivery-log">
      <div className="section-head">
        <h4 id={`${id}-title`}>Delivery log</h4>
        <div className="filters">
          <label htmlFor={`${id}-status`} className="visually-hidden">
            Show deliveries
          </label>
          <select id={`${id}-status`} value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)}>
            <option value="">all</option>
            {WEBHOOK_DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <button type="button" className="ghost small" onClick={() => void log.refetch()} disabled={log.isFetching}>
            {log.isFetching ? 'Refreshing…' : 'Refresh'}
          </button>
        </div>
      </div>
      {log.isPending ? (
        <Loading what="deliveries" />
      ) : log.error ? (
        <ErrorNotice error={log.error} what="deliveries" />
      ) : items.length === 0 ? (
        <p className="muted small">{status ? `No ${status} deliveries.` : 'No deliveries yet. Send a test event to check that the receiver gets them.'}</p>
      ) : (
        <div className="table-scroll">
          <table className="deliveries" aria-labelledby={`${id}-title`}>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Event</th>
                <th scope="col">Queued</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Next attempt / delivered</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id} data-testid="delivery" data-delivery-id={d.id} data-status={d.status} className={d.id === highlight ? 'highlight' : undefined}>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>
                    <details>
                      <summary>
                        <code>{d.event}</code>
                      </summary>
                      <p className="muted small">
                        Delivery <code>{d.id}</code>
                      </p>
                      <pre className="payload">{JSON.stringify(d.payload, null, 2)}</pre>
                    </details>
                  </td>
                  <td title={time(d.createdAt)}>{ago(d.createdAt)}</td>
                  <td>{d.attempts}</td>
                  <td className="wrap">
                    {d.lastStatus !== null && <span className={d.lastStatus >= 200 && d.lastStatus < 300 ? 'ok-text' : 'bad-text'}>HTTP {d.lastStatus}</span>}
                    {d.lastError && <span className="bad-text"> {d.lastError}</span>}
                    {d.lastStatus === null && !d.lastError && <span className="muted">{d.attempts ? 'no answer' : 'not sent yet'}</span>}
                  </td>
                  <td>
                    {d.status === 'delivered' ? (
                      <span title={time(d.deliveredAt)}>delivered {ago(d.deliveredAt)}</span>
                    ) : d.status === 'pending' ? (
                      <span title={time(d.nextAttemptAt)}>{d.nextAttemptAt && Date.parse(d.nextAttemptAt) > Date.now() ? ago(d.nextAttemptAt) : 'due now'}</span>
                    ) : (
                      <span className="bad-text">gave up after {d.attempts}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {log.hasNextPage && (
        <button type="button" className="ghost small" onClick={() => void log.fetchNextPage()} disabled={log.isFetchingNextPage}>
          {log.isFetchingNextPage ? 'Loading…' : 'Older deliveries'}
        </button>
      )}
    </div>
  );
}

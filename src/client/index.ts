/**
 * A small typed client for Switchyard's REST API and live stream, built on
 * the same zod schemas the server validates with (src/core/api.ts). The CLI
 * makes every network call through it.
 *
 *   const sy = new SwitchyardClient({ url: 'http://127.0.0.1:8080', token });
 *   const task = await sy.tasks.create({ assignedAgent: 'claude-code', prompt: 'Fix the flaky test' });
 *   for await (const e of sy.tasks.follow(task.id)) console.log(e.text ?? e.raw);
 */
import type { z } from 'zod';
import * as api from '../core/api.js';
import * as hooks from '../core/webhooks.js';
import * as audit from '../core/audit.js';
import { followTask, type FollowOptions, type StreamItem } from './follow.js';

export interface ClientOptions {
  url: string;
  token: string;
  /** Workspace for instance-admin tokens (`?workspace=`); workspace tokens ignore it. */
  workspace?: string;
  timeoutMs?: number;
}

/** The server answered with an error. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server could not be reached at all. */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach the Switchyard server at ${url}`, options);
    this.name = 'UnreachableError';
  }
}

type Query = Record<string, string | number | boolean | undefined>;

export class SwitchyardClient {
  readonly url: string;
  readonly token: string;
  readonly workspace: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.token = opts.token;
    this.workspace = opts.workspace;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async request<S extends z.ZodType>(method: string, path: string, schema: S, opts: { query?: Query; body?: unknown; scoped?: boolean } = {}): Promise<z.infer<S>> {
    const q = new URLSearchParams();
    const query: Query = { ...(opts.scoped !== false && this.workspace ? { workspace: this.workspace } : {}), ...opts.query };
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const target = `${this.url}/api/v1${path}${q.size ? `?${q}` : ''}`;
    let res: Response;
    try {
      res = await fetch(target, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new UnreachableError(this.url, { cause: err });
    }
    const text = await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        throw new ApiError(res.status, 'invalid_response', `the server answered ${res.status} with a body that is not JSON`);
      }
    }
    if (!res.ok) {
      const e = api.errorBody.safeParse(json);
      if (e.success) throw new ApiError(res.status, e.data.error.code, e.data.error.message, e.data.error.details);
      throw new ApiError(res.status, 'http_error', `the server answered ${res.status}`);
    }
    return schema.parse(json ?? null);
  }

  me() {
    return this.request('GET', '/me', api.whoami, { scoped: false });
  }

  readonly workspaces = {
    list: () => this.request('GET', '/workspaces', api.page(api.workspace), { scoped: false }),
    get: (id: string) => this.request('GET', `/workspaces/${enc(id)}`, api.workspace, { scoped: false }),
    create: (body: api.CreateWorkspaceBody) => this.request('POST', '/workspaces', api.workspace, { body, scoped: false }),
    update: (id: string, body: api.UpdateWorkspaceBody) => this.request('PATCH', `/workspaces/${enc(id)}`, api.workspace, { body, scoped: false }),
    delete: (id: string) => this.request('DELETE', `/workspaces/${enc(id)}`, nothing, { scoped: false }),
  };

  readonly tokens = {
    create: (workspaceId: string, body: z.infer<typeof api.createTokenBody>) =>
      this.request('POST', `/workspaces/${enc(workspaceId)}/tokens`, api.createdToken, { body, scoped: false }),
    list: (workspaceId: string) => this.request('GET', `/workspaces/${enc(workspaceId)}/tokens`, api.page(api.token), { scoped: false }),
    createInstance: (body: { role: 'admin' | 'daemon'; name: string; workspaces?: string[]; expiresInDays?: number }) =>
      this.request('POST', '/tokens', api.createdToken, { body, scoped: false }),
    listInstance: () => this.request('GET', '/tokens', api.page(api.token), { scoped: false }),
    revoke: (id: string) => this.request('DELETE', `/tokens/${enc(id)}`, api.token, { scoped: false }),
  };

  readonly tasks = {
    create: (body: api.CreateTaskBody & { assignedAgent: string; agents?: undefined }) => this.request('POST', '/tasks', api.task, { body }),
    /** The same prompt to several agents, each its own task, for comparison. */
    createGroup: (body: api.CreateTaskBody & { agents: string[]; assignedAgent?: undefined }) => this.request('POST', '/tasks', api.taskGroup, { body }),
    group: (groupId: string) => this.request('GET', `/task-groups/${enc(groupId)}`, api.taskGroup),
    list: (f: { status?: string; agent?: string; groupId?: string; limit?: number; cursor?: string } = {}) =>
      this.request('GET', '/tasks', api.page(api.task), { query: f }),
    get: (id: string) => this.request('GET', `/tasks/${enc(id)}`, api.task),
    runs: (id: string) => this.request('GET', `/tasks/${enc(id)}/runs`, api.page(api.taskRun)),
    events: (id: string, after = 0, limit?: number) => this.request('GET', `/tasks/${enc(id)}/events`, api.eventsPage, { query: { after, limit } }),
    cancel: (id: string, reason?: string) => this.request('POST', `/tasks/${enc(id)}/cancel`, api.task, { body: reason ? { reason } : {} }),
    retry: (id: string, reason?: string) => this.request('POST', `/tasks/${enc(id)}/retry`, api.task, { body: reason ? { reason } : {} }),
    answer: (id: string, answer: string) => this.request('POST', `/tasks/${enc(id)}/answer`, api.task, { body: { answer } }),
    /** Streams the task's events from `afterSeq` on (resuming after reconnects) until the task settles. */
    follow: (id: string, opts: FollowOptions = {}): AsyncIterable<StreamItem> => followTask(this, id, opts),
  };

  /** What an agent calls with its task token (`switchyard ask`, the MCP tools). */
  readonly agent = {
    ask: (taskId: string, question: string) => this.request('POST', `/tasks/${enc(taskId)}/ask`, api.task, { body: { question }, scoped: false }),
    progress: (taskId: string, message: string) => this.request('POST', `/tasks/${enc(taskId)}/progress`, api.task, { body: { message }, scoped: false }),
  };

  readonly maintenance = {
    run: () => this.request('POST', '/maintenance/run', z4record, { body: {}, scoped: false }),
  };

  readonly daemons = {
    list: () => this.request('GET', '/daemons', api.page(api.daemon)),
  };

  /** The workspace's audit log (workspace or instance admins); records cannot be changed through the API. */
  readonly audit = {
    /** Newest first. */
    list: (f: { limit?: number; cursor?: string } = {}) => this.request('GET', '/audit', audit.auditPage, { query: f }),
    /** Walks the hash chain; `ok: false` names the first broken link. */
    verify: () => this.request('GET', '/audit/verify', audit.auditVerification),
  };

  /** The workspace's webhooks (workspace or instance admins). The secret is answered only by create and `update({ rotateSecret: true })`. */
  readonly webhooks = {
    create: (body: hooks.CreateWebhookBody) => this.request('POST', '/webhooks', hooks.createdWebhook, { body }),
    list: () => this.request('GET', '/webhooks', api.page(hooks.webhook)),
    get: (id: string) => this.request('GET', `/webhooks/${enc(id)}`, hooks.webhook),
    update: (id: string, body: hooks.UpdateWebhookBody) => this.request('PATCH', `/webhooks/${enc(id)}`, hooks.updatedWebhook, { body }),
    delete: (id: string) => this.request('DELETE', `/webhooks/${enc(id)}`, hooks.webhook),
    /** The delivery log, newest first. */
    deliveries: (id: string, f: { status?: 'pending' | 'delivered' | 'failed'; limit?: number; cursor?: string } = {}) =>
      this.request('GET', `/webhooks/${enc(id)}/deliveries`, hooks.deliveriesPage, { query: f }),
    delivery: (id: string, deliveryId: string) => this.request('GET', `/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}`, hooks.webhookDelivery),
    /** Queues a `webhook.test` event; answers its delivery (pending), to follow with `delivery()`. */
    test: (id: string) => this.request('POST', `/webhooks/${enc(id)}/test`, hooks.webhookDelivery, { body: {} }),
  };

  /** Recurring failures of the workspace: failed runs since a time (ISO or `24h`, `7d`; default 7d), grouped (default by class), largest first. */
  readonly failures = {
    patterns: (f: { since?: string; groupBy?: api.FailureGrouping; limit?: number; agent?: string; class?: string } = {}) =>
      this.request('GET', '/failures/patterns', api.failurePatterns, { query: f }),
  };

  /** The workspace's skill library. */
  readonly skills = {
    /** Best first; `score` 0–1. */
    search: (q: string, limit?: number) => this.request('GET', '/skills', api.page(api.skillHit), { query: { q, limit } }),
    /** Most recently used first. */
    list: (f: { limit?: number; cursor?: string } = {}) => this.request('GET', '/skills', api.page(api.skillHit), { query: f }),
    get: (id: string) => this.request('GET', `/skills/${enc(id)}`, api.skill),
    create: (body: api.CreateSkillBody) => this.request('POST', '/skills', api.skill, { body }),
    delete: (id: string) => this.request('DELETE', `/skills/${enc(id)}`, nothing),
    import: (items: api.CreateSkillBody[]) => this.request('POST', '/skills/import', api.importResult, { body: { items } }),
    reembed: (model: string) => this.request('POST', '/skills/reembed', api.reembedStatus, { body: { model } }),
    reembedStatus: () => this.request('GET', '/skills/reembed', api.reembedStatus),
    archive: (olderThanDays?: number) => this.request('POST', '/skills/archive', api.archiveResult, { body: olderThanDays === undefined ? {} : { olderThanDays } }),
    restore: (from: { file: string } | { records: api.ArchivedSkill[] }) => this.request('POST', '/skills/restore', api.restoreResult, { body: from }),
  };
}

const z4record = api.jsonRecord;
const nothing = { parse: () => undefined } as unknown as z.ZodType<undefined>;

function enc(s: string): string {
  return encodeURIComponent(s);
}

export type { StreamItem, FollowOptions } from './follow.js';
export type { Task, TaskEvent, TaskGroup, TaskRun, Workspace, Token, CreatedToken, Daemon, Whoami } from '../core/api.js';
export type { Skill, SkillHit, ImportResult, ReembedStatus, ArchivedSkill } from '../core/api.js';
export type { FailureGrouping, FailurePattern, FailurePatterns } from '../core/api.js';
export type { Webhook, CreatedWebhook, WebhookDelivery, WebhookEvent, CreateWebhookBody, UpdateWebhookBody } from '../core/webhooks.js';
export type { AuditRecord, AuditVerification, AuditBrokenLink } from '../core/audit.js';

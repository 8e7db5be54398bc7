/**
 * Every call the dashboard makes, typed. `scope` is the workspace an
 * instance admin is looking at (sent as `?workspace=`); workspace tokens act
 * on their own workspace and send none. Single-task reads send no scope, so
 * an instance admin can open a link to any workspace's task.
 */
import type { Http } from './http.js';
import type {
  CreatedToken,
  CreatedWebhook,
  CreateTaskBody,
  CreateWebhookBody,
  Daemon,
  FailureGrouping,
  FailurePatterns,
  HealthPoint,
  Page,
  SkillHit,
  Task,
  TaskEvent,
  TaskGroup,
  TaskRun,
  TaskStatus,
  Token,
  UpdateWebhookBody,
  UpdateWorkspaceBody,
  Webhook,
  WebhookDelivery,
  Whoami,
  Workspace,
  WorkspaceTokenRole,
} from './types.js';

export type Api = ReturnType<typeof createApi>;

export function createApi(http: Http, scope: string | undefined) {
  const ws = scope ? { workspace: scope } : {};
  const r = http.request.bind(http);
  return {
    scope,
    me: () => r<Whoami>('GET', '/me'),

    workspaces: () => r<Page<Workspace>>('GET', '/workspaces'),
    workspace: (id: string) => r<Workspace>('GET', `/workspaces/${encodeURIComponent(id)}`),
    updateWorkspace: (id: string, body: UpdateWorkspaceBody) => r<Workspace>('PATCH', `/workspaces/${encodeURIComponent(id)}`, { body }),

    tasks: (q: { status?: readonly TaskStatus[]; agent?: string; groupId?: string; limit?: number; cursor?: string } = {}) =>
      r<Page<Task>>('GET', '/tasks', { query: { ...ws, status: q.status?.join(','), agent: q.agent, groupId: q.groupId, limit: q.limit, cursor: q.cursor } }),
    task: (id: string) => r<Task>('GET', `/tasks/${id}`),
    runs: (id: string) => r<{ items: TaskRun[] }>('GET', `/tasks/${id}/runs`),
    events: (id: string, after: number, limit = 1000) => r<{ items: TaskEvent[]; next: number | null }>('GET', `/tasks/${id}/events`, { query: { after, limit } }),
    /** With `agents` (two or more), a comparison group: the answer is the group. */
    createTask: (body: CreateTaskBody) => r<Task | TaskGroup>('POST', '/tasks', { query: ws, body }),
    cancel: (id: string) => r<Task>('POST', `/tasks/${id}/cancel`),
    retry: (id: string) => r<Task>('POST', `/tasks/${id}/retry`),
    answer: (id: string, answer: string) => r<Task>('POST', `/tasks/${id}/answer`, { body: { answer } }),

    /** Runtimes: with a workspace, those that may serve it; an instance admin without one sees all. */
    daemons: (opts: { all?: boolean } = {}) => r<Page<Daemon>>('GET', '/daemons', { query: opts.all ? {} : ws }),
    daemonHealth: (id: string) => r<{ items: HealthPoint[] }>('GET', `/daemons/${id}/health`),

    workspaceTokens: (id: string) => r<Page<Token>>('GET', `/workspaces/${encodeURIComponent(id)}/tokens`),
    createWorkspaceToken: (id: string, body: { role: WorkspaceTokenRole; name: string; expiresInDays?: number }) =>
      r<CreatedToken>('POST', `/workspaces/${encodeURIComponent(id)}/tokens`, { body }),
    instanceTokens: () => r<Page<Token>>('GET', '/tokens'),
    createInstanceToken: (body: { role: 'admin' | 'daemon'; name: string; expiresInDays?: number }) => r<CreatedToken>('POST', '/tokens', { body }),
    revokeToken: (id: string) => r<Token>('DELETE', `/tokens/${id}`),

    /** Webhooks of the workspace (its admins). The secret is answered only by create and an update with `rotateSecret`. */
    webhooks: () => r<Page<Webhook>>('GET', '/webhooks', { query: ws }),
    createWebhook: (body: CreateWebhookBody) => r<CreatedWebhook>('POST', '/webhooks', { query: ws, body }),
    updateWebhook: (id: string, body: UpdateWebhookBody) => r<Webhook & { secret?: string }>('PATCH', `/webhooks/${id}`, { query: ws, body }),
    deleteWebhook: (id: string) => r<Webhook>('DELETE', `/webhooks/${id}`, { query: ws }),
    /** The delivery log, newest first. */
    webhookDeliveries: (id: string, q: { status?: WebhookDelivery['status']; cursor?: string; limit?: number } = {}) =>
      r<Page<WebhookDelivery>>('GET', `/webhooks/${id}/deliveries`, { query: { ...ws, status: q.status, cursor: q.cursor, limit: q.limit } }),
    /** Queues a webhook.test event (202): its delivery, pending. */
    testWebhook: (id: string) => r<WebhookDelivery>('POST', `/webhooks/${id}/test`, { query: ws }),

    taskGroup: (id: string) => r<TaskGroup>('GET', `/task-groups/${encodeURIComponent(id)}`),
    /** Search by meaning with `q` (best first), or the most recently used without. */
    skills: (q: string, limit = 20) => r<Page<SkillHit>>('GET', '/skills', { query: { ...ws, q, limit } }),
    /** Failed runs since `since` (an ISO time or a duration back from now: `24h`, `7d`), grouped; largest groups first. */
    failurePatterns: (q: { since: string; groupBy: FailureGrouping; limit?: number }) =>
      r<FailurePatterns>('GET', '/failures/patterns', { query: { ...ws, since: q.since, groupBy: q.groupBy, limit: q.limit } }),
  };
}

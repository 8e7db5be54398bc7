/**
 * The API's resources as the dashboard sees them. Everything the server
 * already has comes from its zod schemas (src/core/api.ts) as types only, so
 * the dashboard and the server cannot drift apart and zod stays out of the
 * bundle.
 */
import type { Daemon, FailureGrouping, Task, TaskGroup } from '../../../src/core/api.js';
import type { TaskStatus } from '../../../src/core/taskState.js';
import type { WebhookEventType } from '../../../src/core/webhooks.js';

export type {
  CreatedToken,
  CreateTaskBody,
  Daemon,
  FailureGrouping,
  FailurePattern,
  FailurePatterns,
  SkillHit,
  Task,
  TaskGroup,
  TaskEvent,
  TaskRun,
  Token,
  UpdateWorkspaceBody,
  Whoami,
  Workspace,
} from '../../../src/core/api.js';
export type { TaskStatus };
export type { CreatedWebhook, CreateWebhookBody, UpdateWebhookBody, Webhook, WebhookDelivery, WebhookEventType, WebhookFormat } from '../../../src/core/webhooks.js';

export type Transition = NonNullable<Task['timeline']>[number];
export type DaemonAgent = Daemon['agents'][number];

/** Board columns, in the order a task moves through them (issue 6). */
export const BOARD_COLUMNS = ['queued', 'claimed', 'executing', 'blocked', 'completed', 'failed', 'cancelled'] as const satisfies readonly TaskStatus[];
export const ACTIVE_STATUSES = ['queued', 'claimed', 'executing', 'blocked'] as const satisfies readonly TaskStatus[];
export const FINISHED_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly TaskStatus[];
/** Failure pattern groupings, in the order the page offers them (the server's list cannot be imported as a value: it would bundle zod). */
export const FAILURE_GROUPINGS = ['class', 'agent', 'model', 'prompt'] as const satisfies readonly FailureGrouping[];
export const failureGroupingsComplete: [FailureGrouping] extends [(typeof FAILURE_GROUPINGS)[number]] ? true : never = true;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface HealthPoint {
  at: string;
  cpu: number;
  memUsedMb: number;
}

/** Roles a workspace token may have (POST /workspaces/:id/tokens). */
export const WORKSPACE_TOKEN_ROLES = ['admin', 'member', 'viewer', 'daemon'] as const;
export type WorkspaceTokenRole = (typeof WORKSPACE_TOKEN_ROLES)[number];

/**
 * Events a webhook may subscribe to, in the order the form lists them. The
 * server's list (src/core/webhooks.ts) cannot be imported as a value — it
 * would bundle node:crypto — so the type below fails the build if the two
 * ever differ.
 */
export const WEBHOOK_EVENT_TYPES = ['task.completed', 'task.failed', 'task.blocked', 'task.cancelled', 'daemon.offline', 'daemon.throttled'] as const satisfies readonly WebhookEventType[];
export const webhookEventsComplete: [WebhookEventType] extends [(typeof WEBHOOK_EVENT_TYPES)[number]] ? true : never = true;
export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

export type GroupTask = TaskGroup['tasks'][number];

/** What a run's `diff` holds when the task had a repository (src/daemon/worktree.ts DiffSummary). */
export interface DiffSummary {
  branch?: string;
  base?: string;
  head?: string;
  commits?: { sha: string; subject: string }[];
  files?: { path: string; insertions: number; deletions: number }[];
  insertions?: number;
  deletions?: number;
}

/**
 * The API's resources as the dashboard sees them. Everything the server
 * already has comes from its zod schemas (src/core/api.ts) as types only, so
 * the dashboard and the server cannot drift apart and zod stays out of the
 * bundle. The planned resource (failure patterns) is
 * declared here from the endpoint described in issue 6; move it to
 * src/core/api.ts when the server gains it.
 */
import type { Daemon, Task, TaskGroup } from '../../../src/core/api.js';
import type { TaskStatus } from '../../../src/core/taskState.js';

export type {
  CreatedToken,
  CreateTaskBody,
  Daemon,
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

export type Transition = NonNullable<Task['timeline']>[number];
export type DaemonAgent = Daemon['agents'][number];

/** Board columns, in the order a task moves through them (issue 6). */
export const BOARD_COLUMNS = ['queued', 'claimed', 'executing', 'blocked', 'completed', 'failed', 'cancelled'] as const satisfies readonly TaskStatus[];
export const ACTIVE_STATUSES = ['queued', 'claimed', 'executing', 'blocked'] as const satisfies readonly TaskStatus[];
export const FINISHED_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly TaskStatus[];

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

// ------------------------------------------------- planned (not on the server yet)

export const FAILURE_GROUPINGS = ['class', 'agent', 'model', 'prompt'] as const;
export type FailureGrouping = (typeof FAILURE_GROUPINGS)[number];

/** GET /api/v1/failures/patterns?since=&groupBy= */
export interface FailurePattern {
  key: string;
  count: number;
  lastAt: string;
  taskIds: string[];
}

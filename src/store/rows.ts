/** Conversions between database rows and the API's resources. */
import type { Task, TaskEvent, TaskRun, Token, Workspace } from '../core/api.js';
import { userActions, type TaskStatus } from '../core/taskState.js';

export function iso(v: unknown): string {
  return v instanceof Date ? v.toISOString() : String(v);
}
export function isoOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : iso(v);
}
export function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}
function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
export function obj(v: unknown): Record<string, unknown> | null {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

export type DbRow = Record<string, unknown>;

export function toWorkspace(r: DbRow): Workspace {
  return {
    id: String(r.id),
    name: String(r.name),
    allowedAgents: (r.allowed_agents as string[] | null) ?? null,
    maxConcurrentTasks: Number(r.max_concurrent_tasks),
    skillRetentionDays: Number(r.skill_retention_days),
    auditLogEnabled: Boolean(r.audit_log_enabled),
    settings: obj(r.settings) ?? {},
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export function toToken(r: DbRow): Token {
  return {
    id: String(r.id),
    name: String(r.name),
    role: String(r.role),
    workspaceId: str(r.workspace_id),
    prefix: String(r.prefix),
    daemonWorkspaces: (r.daemon_workspaces as string[] | null) ?? null,
    createdAt: iso(r.created_at),
    lastUsedAt: isoOrNull(r.last_used_at),
    expiresAt: isoOrNull(r.expires_at),
    revokedAt: isoOrNull(r.revoked_at),
  };
}

export function toTask(r: DbRow): Task {
  const status = r.status as TaskStatus;
  return {
    id: String(r.id),
    workspaceId: String(r.workspace_id),
    groupId: str(r.group_id),
    assignedAgent: String(r.assigned_agent),
    model: str(r.model),
    prompt: String(r.prompt),
    promptHash: String(r.prompt_hash),
    status,
    statusReason: str(r.status_reason),
    priority: Number(r.priority),
    attempt: Number(r.attempt),
    maxAttempts: Number(r.max_attempts),
    runAfter: isoOrNull(r.run_after),
    metadata: obj(r.metadata) ?? {},
    daemonId: str(r.daemon_id),
    cancelRequested: r.cancel_requested_at !== null && r.cancel_requested_at !== undefined,
    question: str(r.question),
    answer: str(r.answer),
    sessionId: str(r.session_id),
    tokenBudget: num(r.token_budget),
    repo: str(r.repo),
    baseRef: str(r.base_ref),
    suggestions: (r.suggestions as Task['suggestions'] | null) ?? [],
    resultText: str(r.result_text),
    progressNote: str(r.progress_note),
    actions: r.cancel_requested_at ? userActions(status).filter((a) => a !== 'cancel') : userActions(status),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    finishedAt: isoOrNull(r.finished_at),
  };
}

export function toEvent(r: DbRow): TaskEvent {
  const e: TaskEvent = {
    seq: Number(r.seq),
    at: iso(r.at),
    attempt: Number(r.attempt),
    stream: r.stream as TaskEvent['stream'],
    kind: String(r.kind),
    raw: r.raw === null || r.raw === undefined ? '' : String(r.raw),
  };
  if (r.text !== null && r.text !== undefined) e.text = String(r.text);
  const data = obj(r.data);
  if (data) e.data = data;
  return e;
}

export function toRun(r: DbRow): TaskRun {
  const started = r.started_at instanceof Date ? r.started_at : new Date(String(r.started_at));
  const ended = r.ended_at ? (r.ended_at instanceof Date ? r.ended_at : new Date(String(r.ended_at))) : null;
  return {
    id: String(r.id),
    taskId: String(r.task_id),
    attempt: Number(r.attempt),
    daemonId: str(r.daemon_id),
    agent: String(r.agent),
    agentVersion: str(r.agent_version),
    model: str(r.model),
    pid: num(r.pid),
    status: String(r.status),
    startedAt: started.toISOString(),
    endedAt: ended ? ended.toISOString() : null,
    durationMs: ended ? ended.getTime() - started.getTime() : null,
    exitCode: num(r.exit_code),
    signal: str(r.signal),
    failureClass: str(r.failure_class),
    failureReason: str(r.failure_reason),
    stderrTail: str(r.stderr_tail),
    usage: obj(r.usage),
    costUsd: num(r.cost_usd),
    sessionId: str(r.session_id),
    resultText: str(r.result_text),
    diff: obj(r.diff),
  };
}

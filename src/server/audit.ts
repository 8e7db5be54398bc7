/**
 * The audit records of API calls (DESIGN.md §6): every POST, PATCH, PUT or
 * DELETE under /api/v1 that succeeds appends a record — token id and role,
 * action, target, a before/after summary, client address — to the chain of
 * the workspace it changed, when that workspace keeps an audit log.
 *
 * Hooks rather than code in each route, so an endpoint added later is
 * recorded without anyone remembering to: routes listed in RULES get a named
 * action and a summary; any other gets an action derived from its path. The
 * same request's task transitions are recorded by the store with the same
 * caller (withAuditActor), in the transaction that makes them.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { appendAudit, withAuditActor, type AuditActor } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { dropExpiredAuditPartitions } from '../store/maintenance.js';
import { ensureAuditPartitions } from '../store/partitions.js';
import { isInstanceAdmin } from './auth.js';
import type { MaintenanceStep } from './maintenance.js';

type Json = Record<string, unknown>;

interface Described {
  /** The workspaces whose chains get the record (none: nothing is recorded). */
  workspaces: string[];
  targetId: string | null;
  before?: Json | null;
  after?: Json | null;
  /** Record even if the workspace's audit log is off now (the call that turned it off). */
  always?: boolean;
}

interface AuditRule {
  action: string;
  targetType: string;
  /** Reads what the call will change, before it runs. */
  before?: (db: Db, req: FastifyRequest) => Promise<Json | undefined>;
  describe(req: FastifyRequest, answer: Json, before: Json | undefined): Described;
}

const MUTATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
const WORKSPACE_FIELDS = ['name', 'allowedAgents', 'maxConcurrentTasks', 'skillRetentionDays', 'auditLogEnabled', 'settings'];

const pick = (o: Json | undefined, keys: readonly string[]): Json => Object.fromEntries(keys.filter((k) => o && k in o).map((k) => [k, o![k]]));
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const params = (req: FastifyRequest) => req.params as Record<string, string | undefined>;
const body = (req: FastifyRequest) => (req.body && typeof req.body === 'object' ? (req.body as Json) : {});

/** Only the fields whose values differ, on both sides. */
function changes(before: Json, after: Json): { before: Json; after: Json } {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  return { before: pick(before, keys), after: pick(after, keys) };
}

async function loadWorkspace(db: Db, req: FastifyRequest): Promise<Json | undefined> {
  const { rows } = await db.query(
    `SELECT name, allowed_agents, max_concurrent_tasks, skill_retention_days, audit_log_enabled, settings FROM workspaces WHERE id = $1`,
    [params(req).id],
  );
  const r = rows[0];
  if (!r) return undefined;
  return { name: r.name, allowedAgents: r.allowed_agents, maxConcurrentTasks: r.max_concurrent_tasks, skillRetentionDays: r.skill_retention_days, auditLogEnabled: r.audit_log_enabled, settings: r.settings };
}

async function loadTask(db: Db, req: FastifyRequest): Promise<Json | undefined> {
  const { rows } = await db.query('SELECT status, attempt, max_attempts FROM tasks WHERE id = $1', [params(req).id]);
  const r = rows[0];
  return r ? { status: r.status, attempt: r.attempt, maxAttempts: r.max_attempts } : undefined;
}

/** A task answer: the record goes to the task's workspace. */
const onTask = (req: FastifyRequest, answer: Json, before: Json | undefined, after: Json): Described => ({
  workspaces: str(answer.workspaceId) ? [answer.workspaceId as string] : [],
  targetId: params(req).id ?? null,
  before: before ? { status: before.status } : null,
  after: { status: answer.status, ...after },
});

const RULES: Record<string, AuditRule> = {
  'POST /api/v1/workspaces': {
    action: 'workspace.create',
    targetType: 'workspace',
    describe: (_req, ws) => ({ workspaces: [String(ws.id)], targetId: String(ws.id), after: pick(ws, WORKSPACE_FIELDS) }),
  },
  'PATCH /api/v1/workspaces/:id': {
    action: 'workspace.update',
    targetType: 'workspace',
    before: loadWorkspace,
    describe: (req, ws, before) => ({
      workspaces: [params(req).id!],
      targetId: params(req).id!,
      ...changes(before ?? {}, pick(ws, WORKSPACE_FIELDS)),
      // Turning the audit log off is itself recorded.
      always: before?.auditLogEnabled === true,
    }),
  },
  'DELETE /api/v1/workspaces/:id': {
    action: 'workspace.delete',
    targetType: 'workspace',
    before: loadWorkspace,
    // The workspace is gone; whether it kept a log is known from before. Its records stay.
    describe: (req, _none, before) => (before?.auditLogEnabled === true ? { workspaces: [params(req).id!], targetId: params(req).id!, before, always: true } : { workspaces: [], targetId: null }),
  },
  'POST /api/v1/workspaces/:id/tokens': {
    action: 'token.create',
    targetType: 'token',
    describe: (req, t) => ({ workspaces: [params(req).id!], targetId: str(t.id), after: pick(t, ['name', 'role', 'prefix', 'expiresAt']) }),
  },
  // Instance-wide tokens: recorded in the workspaces a daemon token may serve (an admin token or an all-workspace one names none).
  'POST /api/v1/tokens': {
    action: 'token.create',
    targetType: 'token',
    describe: (_req, t) => ({ workspaces: (t.daemonWorkspaces as string[] | null) ?? [], targetId: str(t.id), after: pick(t, ['name', 'role', 'prefix', 'expiresAt', 'daemonWorkspaces']) }),
  },
  'DELETE /api/v1/tokens/:id': {
    action: 'token.revoke',
    targetType: 'token',
    describe: (req, t) => ({
      workspaces: str(t.workspaceId) ? [t.workspaceId as string] : ((t.daemonWorkspaces as string[] | null) ?? []),
      targetId: params(req).id ?? null,
      after: pick(t, ['name', 'role', 'prefix', 'revokedAt']),
    }),
  },
  'POST /api/v1/tasks': {
    action: 'task.create',
    targetType: 'task',
    describe: (_req, t) => {
      if (Array.isArray(t.tasks)) {
        const tasks = t.tasks as Json[];
        return {
          workspaces: tasks[0] && str(tasks[0].workspaceId) ? [tasks[0].workspaceId as string] : [],
          targetId: str(t.id),
          after: { group: true, tasks: tasks.map((x) => ({ id: x.id, assignedAgent: x.assignedAgent })), promptHash: tasks[0]?.promptHash ?? null },
        };
      }
      // The prompt's hash and size, never the prompt itself.
      return {
        workspaces: str(t.workspaceId) ? [t.workspaceId as string] : [],
        targetId: str(t.id),
        after: { ...pick(t, ['status', 'assignedAgent', 'priority', 'maxAttempts', 'model', 'promptHash', 'repo']), promptBytes: Buffer.byteLength(String(t.prompt ?? ''), 'utf8') },
      };
    },
  },
  'POST /api/v1/tasks/:id/cancel': {
    action: 'task.cancel',
    targetType: 'task',
    before: loadTask,
    describe: (req, t, before) => onTask(req, t, before, { cancelRequested: Boolean(t.cancelRequested), reason: str(body(req).reason)?.slice(0, 300) ?? null }),
  },
  'POST /api/v1/tasks/:id/retry': {
    action: 'task.retry',
    targetType: 'task',
    before: loadTask,
    describe: (req, t, before) => onTask(req, t, before, { maxAttempts: t.maxAttempts, reason: str(body(req).reason)?.slice(0, 300) ?? null }),
  },
  'POST /api/v1/tasks/:id/answer': {
    action: 'task.answer',
    targetType: 'task',
    before: loadTask,
    describe: (req, t, before) => onTask(req, t, before, { answerChars: String(body(req).answer ?? '').length }),
  },
  'POST /api/v1/tasks/:id/ask': {
    action: 'task.ask',
    targetType: 'task',
    describe: (req, t) => onTask(req, t, undefined, { questionChars: String(body(req).question ?? '').length }),
  },
  'POST /api/v1/tasks/:id/progress': {
    action: 'task.progress',
    targetType: 'task',
    describe: (req, t) => onTask(req, t, undefined, { noteChars: String(body(req).message ?? '').length }),
  },
};

/**
 * Any other state-changing route: `POST /api/v1/skills` → skills.create,
 * `POST /api/v1/skills/import` → skills.import, `PATCH …/:id` → ….update;
 * recorded in the workspace its answer names, or the one the call acted on.
 */
function fallbackRule(method: string, url: string, defaultWorkspace: string): AuditRule {
  const parts = url.replace(/^\/api\/v1\//, '').split('/').filter((s) => s && !s.startsWith(':'));
  const last = url.split('/').pop() ?? '';
  const verb = parts.length > 1 && !last.startsWith(':') ? parts.pop()! : method === 'POST' ? 'create' : method === 'DELETE' ? 'delete' : 'update';
  const resource = parts.join('.') || 'api';
  return {
    action: `${resource}.${verb}`,
    targetType: resource,
    describe(req, answer) {
      const p = req.principal!;
      const asked = str((req.query as Json | undefined)?.workspace);
      const ws = str(answer.workspaceId) ?? p.workspaceId ?? (isInstanceAdmin(p) ? (asked ?? defaultWorkspace) : null);
      return { workspaces: ws ? [ws] : [], targetId: params(req).id ?? str(answer.id) };
    },
  };
}

export interface AuditHookDeps {
  db: Db;
  defaultWorkspace: string;
}

/**
 * Installs the hooks on the authenticated /api/v1 scope; call it after the
 * authentication hook, which sets `req.principal`.
 */
export function installAuditHooks(scope: FastifyInstance, deps: AuditHookDeps): void {
  const pending = new WeakMap<FastifyRequest, { rule: AuditRule; actor: AuditActor; before?: Json; answer?: Json }>();

  // Callback style, so the rest of the request runs inside the caller's context.
  scope.addHook('onRequest', (req, _reply, done) => {
    const p = req.principal;
    if (!p || !MUTATING.has(req.method)) return done();
    const url = req.routeOptions.url ?? req.url;
    const rule = RULES[`${req.method} ${url}`] ?? fallbackRule(req.method, url, deps.defaultWorkspace);
    const actor: AuditActor = { kind: 'user', tokenId: p.id, role: p.role, clientAddress: req.ip ?? null };
    pending.set(req, { rule, actor });
    withAuditActor(actor, done);
  });

  scope.addHook('preHandler', async (req) => {
    const entry = pending.get(req);
    if (entry?.rule.before) entry.before = await entry.rule.before(deps.db, req);
  });

  // The answer as the handler returned it, before it is serialized (not called for empty answers such as 204).
  scope.addHook('preSerialization', async (req, _reply, payload) => {
    const entry = pending.get(req);
    if (entry && payload && typeof payload === 'object' && !Array.isArray(payload)) entry.answer = payload as Json;
    return payload;
  });

  scope.addHook('onSend', async (req, reply, payload) => {
    const entry = pending.get(req);
    if (!entry || reply.statusCode < 200 || reply.statusCode >= 300) return payload;
    pending.delete(req);
    const { rule, actor } = entry;
    try {
      const d = rule.describe(req, entry.answer ?? {}, entry.before);
      for (const workspaceId of d.workspaces) {
        await appendAudit(deps.db, { workspaceId, actor, action: rule.action, targetType: rule.targetType, targetId: d.targetId, before: d.before ?? null, after: d.after ?? null }, d.always ? true : undefined);
      }
    } catch (err) {
      // The change is made and committed; failing the answer now would tell
      // the caller it was not. The missing record is logged loudly instead.
      req.log.error({ err, action: rule.action, tokenId: actor.tokenId }, 'audit record could not be written');
    }
    return payload;
  });
}

/** The audit log's part of maintenance: monthly partitions created ahead (dropping old ones is retention's). */
export function auditMaintenance(db: Db, retentionMs: number): Record<string, MaintenanceStep> {
  return {
    auditPartitions: async (now) => ({
      created: await ensureAuditPartitions(db, now),
      dropped: await dropExpiredAuditPartitions(db, new Date(now.getTime() - retentionMs)),
    }),
  };
}

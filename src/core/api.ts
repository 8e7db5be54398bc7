/**
 * The REST API's resources and request bodies as zod schemas. The server
 * validates with them and generates its OpenAPI document from them; the typed
 * client (src/client) uses the same types, so the two cannot drift apart.
 * Field names follow the seed's `AgentTask` and `WorkspaceConfig`.
 */
import ms from 'ms';
import { z } from 'zod';
import { FAILURE_CLASSES } from './retryPolicy.js';
import { TASK_STATES } from './taskState.js';

export const WORKSPACE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const workspaceId = z
  .string()
  .regex(WORKSPACE_ID, 'expected a workspace id: a slug of lowercase letters, digits and dashes, such as "prod-automation"');
export const uuid = z.string().uuid('expected a UUID');
export const agentName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected an agent name such as "claude-code"');
const isoTime = z.string().describe('ISO-8601 time');

/** PostgreSQL text cannot hold NUL, and int4 columns stop at 2^31-1: refuse both with the field named. */
export const INT4_MAX = 2_147_483_647;
const noNul = (s: string) => !s.includes('\u0000');
export const text = () => z.string().refine(noNul, 'must not contain NUL (\\u0000) characters');

const MAX_JSON_DEPTH = 32;
const MAX_JSON_BYTES = 64 * 1024;
/** Checks a JSON value for depth and NUL characters without recursion limits of its own. */
function jsonProblem(value: unknown): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`;
    if (typeof v === 'string' && !noNul(v)) return 'must not contain NUL (\\u0000) characters';
    if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (!noNul(k)) return 'must not contain NUL (\\u0000) characters';
        stack.push([child, depth + 1]);
      }
    }
  }
  return undefined;
}
/** JSON objects as the API answers them. */
const jsonObject = z.record(z.string(), z.unknown());
export const jsonRecord = jsonObject;
/** Free-form JSON attached to tasks and workspaces: an object, at most 64 KiB, 32 levels deep. */
const metadata = z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
  const problem = jsonProblem(v);
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return;
  }
  if (Buffer.byteLength(JSON.stringify(v)) > MAX_JSON_BYTES) ctx.addIssue({ code: 'custom', message: `is larger than ${MAX_JSON_BYTES / 1024} KiB` });
});

export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBody>;

// ---------------------------------------------------------------- workspaces

export const workspace = z.object({
  id: z.string(),
  name: z.string(),
  /** null: every agent a runtime offers. */
  allowedAgents: z.array(z.string()).nullable(),
  maxConcurrentTasks: z.number().int(),
  skillRetentionDays: z.number().int(),
  auditLogEnabled: z.boolean(),
  settings: jsonObject,
  createdAt: isoTime,
  updatedAt: isoTime,
});
export type Workspace = z.infer<typeof workspace>;

const workspaceFields = {
  name: text().trim().min(1).max(200),
  allowedAgents: z.array(agentName).max(100).nullable(),
  maxConcurrentTasks: z.number().int().min(1).max(10_000),
  skillRetentionDays: z.number().int().min(1).max(36_500),
  auditLogEnabled: z.boolean(),
  settings: metadata,
};
export const createWorkspaceBody = z
  .object({
    id: workspaceId,
    name: workspaceFields.name.optional(),
    allowedAgents: workspaceFields.allowedAgents.optional(),
    maxConcurrentTasks: workspaceFields.maxConcurrentTasks.optional(),
    skillRetentionDays: workspaceFields.skillRetentionDays.optional(),
    auditLogEnabled: workspaceFields.auditLogEnabled.optional(),
    settings: workspaceFields.settings.optional(),
  })
  .strict();
export type CreateWorkspaceBody = z.infer<typeof createWorkspaceBody>;
export const updateWorkspaceBody = z
  .object({
    name: workspaceFields.name.optional(),
    allowedAgents: workspaceFields.allowedAgents.optional(),
    maxConcurrentTasks: workspaceFields.maxConcurrentTasks.optional(),
    skillRetentionDays: workspaceFields.skillRetentionDays.optional(),
    auditLogEnabled: workspaceFields.auditLogEnabled.optional(),
    settings: workspaceFields.settings.optional(),
  })
  .strict();
export type UpdateWorkspaceBody = z.infer<typeof updateWorkspaceBody>;

// -------------------------------------------------------------------- tokens

export const TOKEN_ROLES = ['admin', 'member', 'viewer', 'daemon'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number] | 'task';

export const token = z.object({
  id: z.string(),
  name: z.string(),
  role: z.string(),
  workspaceId: z.string().nullable(),
  prefix: z.string(),
  daemonWorkspaces: z.array(z.string()).nullable(),
  createdAt: isoTime,
  lastUsedAt: isoTime.nullable(),
  expiresAt: isoTime.nullable(),
  revokedAt: isoTime.nullable(),
});
export type Token = z.infer<typeof token>;
export const createTokenBody = z
  .object({
    role: z.enum(TOKEN_ROLES),
    name: text().trim().min(1).max(100),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();
export const createdToken = token.extend({ token: z.string().describe('The secret; shown in this answer only') });
export type CreatedToken = z.infer<typeof createdToken>;

// --------------------------------------------------------------------- tasks

export const taskStatus = z.enum(TASK_STATES);

export const suggestion = z.object({ id: z.string(), name: z.string(), score: z.number() });

export const transition = z.object({
  from: z.string().nullable(),
  to: z.string(),
  actor: z.string(),
  reason: z.string().nullable(),
  attempt: z.number().int(),
  daemonId: z.string().nullable(),
  at: isoTime,
});

export const task = z.object({
  id: z.string(),
  workspaceId: z.string(),
  groupId: z.string().nullable(),
  assignedAgent: z.string(),
  model: z.string().nullable(),
  prompt: z.string(),
  promptHash: z.string(),
  status: taskStatus,
  statusReason: z.string().nullable(),
  priority: z.number().int(),
  attempt: z.number().int(),
  maxAttempts: z.number().int(),
  runAfter: isoTime.nullable(),
  metadata: jsonObject,
  daemonId: z.string().nullable(),
  cancelRequested: z.boolean(),
  question: z.string().nullable(),
  answer: z.string().nullable(),
  sessionId: z.string().nullable(),
  tokenBudget: z.number().int().nullable(),
  repo: z.string().nullable(),
  baseRef: z.string().nullable(),
  suggestions: z.array(suggestion),
  resultText: z.string().nullable(),
  progressNote: z.string().nullable(),
  actions: z.array(z.enum(['cancel', 'retry', 'answer'])),
  createdAt: isoTime,
  updatedAt: isoTime,
  finishedAt: isoTime.nullable(),
  timeline: z.array(transition).optional(),
});
export type Task = z.infer<typeof task>;

export const createTaskBody = z
  .object({
    /** The agent to run; or `agents` for a comparison group (one task per agent, same prompt). */
    assignedAgent: agentName.optional(),
    agents: z.array(agentName).min(2).max(20).optional(),
    prompt: text().min(1, 'the prompt must not be empty'),
    priority: z.number().int().min(-1000).max(1000).optional(),
    metadata: metadata.optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
    model: text().trim().min(1).max(200).optional(),
    tokenBudget: z.number().int().min(1).max(INT4_MAX).optional(),
    repo: text().trim().min(1).max(2000).optional(),
    baseRef: text().trim().min(1).max(250).optional(),
    runAfter: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  // `when`: checked even when other fields are bad, so every problem is named at once.
  .superRefine(
    (b, ctx) => {
      const body = (b ?? {}) as { assignedAgent?: unknown; agents?: unknown };
      if ((body.assignedAgent === undefined) === (body.agents === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['assignedAgent'], message: 'give assignedAgent (one agent) or agents (a comparison group of several), not both and not neither' });
      }
      if (Array.isArray(body.agents) && new Set(body.agents).size !== body.agents.length) ctx.addIssue({ code: 'custom', path: ['agents'], message: 'each agent may appear once' });
    },
    { when: () => true },
  );
export type CreateTaskBody = z.infer<typeof createTaskBody>;

export const askBody = z.object({ question: text().min(1).max(100_000) }).strict();
export const progressBody = z.object({ message: text().min(1).max(10_000) }).strict();

export const listTasksQuery = z
  .object({
    workspace: workspaceId.optional(),
    status: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .pipe(z.array(taskStatus).min(1, 'name at least one status'))
      .optional(),
    agent: agentName.optional(),
    groupId: uuid.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(500).optional(),
  })
  .strict();

export const answerBody = z.object({ answer: text().min(1).max(100_000) }).strict();
export const retryBody = z.object({ reason: text().max(1000).optional() }).strict();
export const cancelBody = z.object({ reason: text().max(1000).optional() }).strict();

export const taskEvent = z.object({
  seq: z.number().int(),
  at: isoTime,
  attempt: z.number().int(),
  stream: z.enum(['stdout', 'stderr', 'system']),
  kind: z.string(),
  text: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  raw: z.string(),
});
export type TaskEvent = z.infer<typeof taskEvent>;
export const eventsQuery = z
  .object({
    workspace: workspaceId.optional(),
    after: z.coerce.number().int().min(0).max(INT4_MAX).default(0),
    limit: z.coerce.number().int().min(1).max(5000).default(500),
  })
  .strict();
export const eventsPage = z.object({ items: z.array(taskEvent), next: z.number().int().nullable() });

export const taskRun = z.object({
  id: z.string(),
  taskId: z.string(),
  attempt: z.number().int(),
  daemonId: z.string().nullable(),
  agent: z.string(),
  agentVersion: z.string().nullable(),
  model: z.string().nullable(),
  pid: z.number().int().nullable(),
  status: z.string(),
  startedAt: isoTime,
  endedAt: isoTime.nullable(),
  durationMs: z.number().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  failureClass: z.string().nullable(),
  failureReason: z.string().nullable(),
  stderrTail: z.string().nullable(),
  usage: z.record(z.string(), z.unknown()).nullable(),
  costUsd: z.number().nullable(),
  sessionId: z.string().nullable(),
  resultText: z.string().nullable(),
  diff: z.record(z.string(), z.unknown()).nullable(),
});
export type TaskRun = z.infer<typeof taskRun>;

/** One prompt sent to several agents, for comparison: each task with its latest run. */
export const taskGroup = z.object({
  id: z.string(),
  prompt: z.string(),
  createdAt: isoTime,
  tasks: z.array(task.extend({ latestRun: taskRun.nullable() })),
});
export type TaskGroup = z.infer<typeof taskGroup>;

// ------------------------------------------------------------------- daemons

export const daemonAgent = z.object({
  name: z.string(),
  binary: z.string().nullable(),
  version: z.string().nullable(),
  status: z.enum(['ok', 'missing', 'not_executable', 'version_failed']),
  reason: z.string().nullable(),
  checkedAt: isoTime,
});
export const daemonHealth = z.object({
  cpu: z.number(),
  memUsedMb: z.number(),
  memTotalMb: z.number().optional(),
  agentsRssMb: z.number(),
  active: z.number().int(),
});
export const daemon = z.object({
  id: z.string(),
  name: z.string(),
  hostname: z.string(),
  version: z.string(),
  workspaces: z.array(z.string()).nullable(),
  capacity: z.number().int(),
  state: z.enum(['online', 'offline']),
  throttled: z.boolean(),
  throttleReason: z.string().nullable(),
  health: daemonHealth.nullable(),
  activeTasks: z.number().int(),
  agents: z.array(daemonAgent),
  connectedAt: isoTime.nullable(),
  lastSeenAt: isoTime.nullable(),
});
export type Daemon = z.infer<typeof daemon>;

// --------------------------------------------------------------------- misc

export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const whoami = z.object({
  tokenId: z.string(),
  role: z.string(),
  workspaceId: z.string().nullable(),
  name: z.string(),
  defaultWorkspace: z.string(),
});
export type Whoami = z.infer<typeof whoami>;

// -------------------------------------------------------------------- skills

export const skill = z.object({
  id: z.string(),
  workspaceId: z.string(),
  name: z.string(),
  description: z.string(),
  usageCount: z.number().int(),
  createdAt: isoTime,
  lastUsedAt: isoTime,
  sourceTaskId: z.string().nullable(),
  agent: z.string().nullable(),
  model: z.string().nullable(),
  metadata: jsonObject,
  /** provider/model/version of its vector; null while it waits to be embedded. */
  embeddingModel: z.string().nullable(),
});
export type Skill = z.infer<typeof skill>;

/** A search result (and a list item): best first; `score` is 0–1, higher is better (null in plain listings). */
export const skillHit = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  score: z.number().nullable(),
  usageCount: z.number().int(),
  embeddingModel: z.string().nullable(),
  lastUsedAt: isoTime,
  sourceTaskId: z.string().nullable(),
});
export type SkillHit = z.infer<typeof skillHit>;

export const skillsQuery = z
  .object({
    workspace: workspaceId.optional(),
    q: text().trim().min(1).max(20_000).optional(),
    /** Default 10 with `q`, 50 without. */
    limit: z.coerce.number().int().min(1).max(500).optional(),
    cursor: z.string().max(500).optional(),
  })
  .strict();

export const createSkillBody = z
  .object({
    name: text().trim().min(1).max(300),
    description: text().max(20_000),
    metadata: metadata.optional(),
  })
  .strict();
export type CreateSkillBody = z.infer<typeof createSkillBody>;

export const importSkillsBody = z.object({ items: z.array(createSkillBody).min(1).max(500) }).strict();
export const importResult = z.object({
  /** New skills. */
  created: z.number().int(),
  /** Near-duplicates of skills already there, whose usage was bumped instead. */
  merged: z.number().int(),
});
export type ImportResult = z.infer<typeof importResult>;

/** One skill as archived (gzipped JSON lines) and restored, with its vector. */
export const archivedSkill = z
  .object({
    id: uuid,
    workspaceId: z.string(),
    name: text().min(1).max(300),
    description: text().max(20_000),
    usageCount: z.number().int().min(0).max(INT4_MAX),
    createdAt: z.iso.datetime({ offset: true }),
    lastUsedAt: z.iso.datetime({ offset: true }),
    sourceTaskId: uuid.nullable(),
    agent: text().max(200).nullable(),
    model: text().max(200).nullable(),
    metadata,
    embedding: z.array(z.number()).max(2000).nullable(),
    embeddingModel: z.string().max(200).nullable(),
    dims: z.number().int().min(1).max(2000).nullable(),
  })
  .strict();
export type ArchivedSkill = z.infer<typeof archivedSkill>;

export const archiveBody = z
  .object({
    /** Archive skills unused this many days; default: the workspace's skillRetentionDays. */
    olderThanDays: z.number().int().min(0).max(36_500).optional(),
  })
  .strict();
export const archiveResult = z.object({ archived: z.number().int(), file: z.string().nullable() });
export const restoreBody = z
  .object({
    /** A file name in the server's archive folder, as `skill archive` printed it. */
    file: z.string().min(1).max(255).optional(),
    /** Or the archived records themselves (the CLI reads a local file and sends them in batches). */
    records: z.array(archivedSkill).min(1).max(1000).optional(),
  })
  .strict()
  .refine((b) => (b.file === undefined) !== (b.records === undefined), 'give either file or records');
export const restoreResult = z.object({ restored: z.number().int(), skipped: z.number().int() });

export const reembedBody = z.object({ model: z.string().min(3).max(200) }).strict();
export const reembedStatus = z.object({
  workspaceId: z.string(),
  /** The model the workspace's queries use now. */
  activeModel: z.string().nullable(),
  toModel: z.string().nullable(),
  state: z.enum(['idle', 'running', 'done', 'failed']),
  total: z.number().int(),
  done: z.number().int(),
  error: z.string().nullable(),
  startedAt: isoTime.nullable(),
  finishedAt: isoTime.nullable(),
});
export type ReembedStatus = z.infer<typeof reembedStatus>;

// ------------------------------------------------------------------ failures

export const FAILURE_GROUPINGS = ['class', 'agent', 'model', 'prompt'] as const;
export type FailureGrouping = (typeof FAILURE_GROUPINGS)[number];

const SINCE_ISO = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

/** A window's start: an ISO-8601 time or date, or a duration back from `now` (`30m`, `24h`, `7d`, `2w`); undefined when it is neither. */
export function resolveSince(value: string, now = Date.now()): string | undefined {
  const v = value.trim();
  // Durations as the configuration reads them (the `ms` package); a bare number, which `ms` takes as milliseconds, is no window.
  const back = v === '' || /^\d+(\.\d+)?$/.test(v) ? undefined : ms(v as ms.StringValue);
  if (typeof back === 'number' && Number.isFinite(back)) return back > 0 ? new Date(now - back).toISOString() : undefined;
  return SINCE_ISO.safeParse(v).success ? new Date(v).toISOString() : undefined;
}

export const failurePatternsQuery = z
  .object({
    workspace: workspaceId.optional(),
    since: z
      .string()
      .max(64)
      .transform((s, ctx) => {
        const at = resolveSince(s);
        if (at === undefined) {
          ctx.addIssue({ code: 'custom', message: `expected an ISO-8601 time (2025-01-31T00:00:00Z) or a duration back from now such as 24h or 7d, got ${JSON.stringify(s)}` });
          return z.NEVER;
        }
        return at;
      })
      // `prefault`: the default is parsed like a given value, so it is resolved against the clock per request.
      .prefault('7d')
      .describe('ISO-8601 time, or a duration back from now: 30m, 24h, 7d, 2w (default 7d)'),
    groupBy: z.enum(FAILURE_GROUPINGS).default('class'),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    agent: agentName.optional(),
    class: z.enum(FAILURE_CLASSES).optional(),
  })
  .strict();

/** One recurring failure: the failed runs (cancelled ones are not failures) that share a class, agent, model or prompt. */
export const failurePattern = z.object({
  /** The class, agent, model or prompt hash; null for runs without a model. */
  key: z.string().nullable(),
  /** Failed runs. */
  count: z.number().int(),
  /** Distinct tasks among them. */
  tasks: z.number().int(),
  firstAt: isoTime,
  lastAt: isoTime,
  /** Up to ten, the most recently failed first. */
  taskIds: z.array(z.string()),
  /** Grouped by prompt: the start of the prompt, whitespace collapsed; null otherwise. */
  promptExcerpt: z.string().nullable(),
  /** The top three of the other dimension: agents for a class, classes for anything else. */
  top: z.array(z.object({ key: z.string().nullable(), count: z.number().int() })),
});
export type FailurePattern = z.infer<typeof failurePattern>;

export const failurePatterns = z.object({
  groupBy: z.enum(FAILURE_GROUPINGS),
  /** The window's start, resolved. */
  since: isoTime,
  /** Over every group in the window, not only those answered. */
  totalFailures: z.number().int(),
  totalGroups: z.number().int(),
  items: z.array(failurePattern),
});
export type FailurePatterns = z.infer<typeof failurePatterns>;

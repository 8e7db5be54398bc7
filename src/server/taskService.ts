/**
 * What users do with tasks — create, cancel, retry, answer — as operations
 * over the store that also tell the rest of the server (dispatcher, runtimes,
 * dashboards) through the bus.
 */
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { CreateTaskBody, Task, TaskGroup } from '../core/api.js';
import type { Orchestrator } from '../core/config/index.js';
import { AgentNotAllowedError, NotFoundError, PayloadTooLargeError, StateConflictError } from '../core/errors.js';
import { refreshQueueReasons } from '../store/claim.js';
import type { Db } from '../store/db.js';
import { getTask, getTaskRow, insertTask, requireGroup, resumePreference, transition } from '../store/tasks.js';
import { revokeTaskTokens } from '../store/tokens.js';
import { requireWorkspace } from '../store/workspaces.js';
import type { Bus } from './bus.js';
import type { SkillService } from '../skills/skillService.js';

export interface TaskServiceDeps {
  db: Db;
  bus: Bus;
  config: Orchestrator;
  log: Logger;
  /** Suggests similar skills for new tasks. */
  skills?: SkillService;
}

export type TaskService = ReturnType<typeof createTaskService>;

export function createTaskService({ db, bus, config, skills }: TaskServiceDeps) {
  const announce = (task: Pick<Task, 'id' | 'workspaceId' | 'status'>) => {
    bus.publish('task', { id: task.id, workspaceId: task.workspaceId, status: task.status });
    if (task.status === 'queued') bus.publish('dispatch', { workspaceId: task.workspaceId });
  };

  async function load(workspaceId: string | null, id: string): Promise<Task> {
    const task = await getTask(db, workspaceId, id);
    if (!task) throw new NotFoundError('task', id);
    return task;
  }

  return {
    announce,

    /**
     * Queues a task — or, with `agents`, a comparison group: the same prompt
     * to each agent, each its own task, created together.
     */
    async create(workspaceId: string, body: CreateTaskBody, createdBy: string | null): Promise<{ task: Task } | { group: TaskGroup }> {
      const limit = config.runtime.max_prompt_size;
      const size = Buffer.byteLength(body.prompt, 'utf8');
      if (size > limit) {
        throw new PayloadTooLargeError(`the prompt is ${size} bytes; the limit is ${limit} bytes (orchestrator.runtime.max_prompt_size)`);
      }
      const ws = await requireWorkspace(db, workspaceId);
      const agents = body.agents ?? [body.assignedAgent!];
      for (const agent of agents) {
        if (ws.allowedAgents && !ws.allowedAgents.includes(agent)) throw new AgentNotAllowedError(agent, ws.allowedAgents);
      }
      const groupId = body.agents ? randomUUID() : null;
      // Bounded by the skill service's suggestion timeout (500 ms): a slow embedding provider never holds up a task.
      const suggestions = skills ? (await skills.suggestQuickly(workspaceId, body.prompt)).map(({ id, name, score }) => ({ id, name, score })) : [];
      const tasks = await db.tx(async (q) => {
        const out: Task[] = [];
        for (const [position, agent] of agents.entries()) {
          out.push(
            await insertTask(q, {
              workspaceId,
              assignedAgent: agent,
              prompt: body.prompt,
              priority: body.priority,
              metadata: body.metadata,
              maxAttempts: body.maxAttempts,
              model: body.model,
              tokenBudget: body.tokenBudget,
              repo: body.repo,
              baseRef: body.baseRef,
              runAfter: body.runAfter,
              groupId,
              groupPosition: groupId ? position : null,
              createdBy,
            }),
          );
        }
        if (suggestions.length > 0) {
          await q.query('UPDATE tasks SET suggestions = $2::jsonb WHERE id = ANY ($1::uuid[])', [out.map((t) => t.id), JSON.stringify(suggestions)]);
          for (const t of out) t.suggestions = suggestions;
        }
        return out;
      });
      // Say at once when no runtime can run it, rather than leaving it silently queued.
      const marked = await refreshQueueReasons(db, tasks.map((t) => t.id));
      for (const t of tasks) announce(t);
      if (groupId) return { group: await requireGroup(db, workspaceId, groupId) };
      const task = tasks[0]!;
      return { task: marked.length > 0 ? await load(workspaceId, task.id) : task };
    },

    /**
     * Cancels at once what no process runs; for a running task, asks its
     * runtime to kill the process group — the task becomes `cancelled` when
     * the runtime reports the group gone.
     */
    async cancel(workspaceId: string | null, id: string, reason = 'cancelled by user'): Promise<{ task: Task; pending: boolean }> {
      const row = await getTaskRow(db, workspaceId, id);
      if (!row) throw new NotFoundError('task', id);
      const result = await db.tx(async (q) => {
        const done = await transition(q, {
          taskId: id,
          from: ['queued', 'claimed', 'blocked'],
          to: 'cancelled',
          actor: 'user',
          reason,
          set: { finished_at: new Date(), lease_expires_at: null, status_reason: reason },
        });
        if (done) {
          await revokeTaskTokens(q, id);
          return { task: done.task, pending: false, claimedBy: done.from === 'claimed' ? done.task.daemonId : null };
        }
        const { rows } = await q.query(
          `UPDATE tasks SET cancel_requested_at = coalesce(cancel_requested_at, now()), status_reason = $2, updated_at = now()
           WHERE id = $1 AND status = 'executing' RETURNING id`,
          [id, reason],
        );
        return rows[0] ? { task: undefined, pending: true, claimedBy: null } : undefined;
      });
      if (!result) {
        const current = await load(workspaceId, id);
        throw new StateConflictError(`task ${id} is ${current.status}; only queued, claimed, executing or blocked tasks can be cancelled`, current.status);
      }
      const task = result.task ?? (await load(workspaceId, id));
      if (result.pending || result.claimedBy) {
        bus.publish('cancel', { taskId: id, attempt: task.attempt, daemonId: task.daemonId ?? result.claimedBy, reason });
      }
      announce(task);
      return { task, pending: result.pending };
    },

    async retry(workspaceId: string | null, id: string, reason = 'retry requested'): Promise<Task> {
      const current = await load(workspaceId, id);
      const done = await db.tx(async (q) =>
        transition(q, {
          taskId: id,
          from: ['failed'],
          to: 'queued',
          actor: 'user',
          reason,
          // A manual retry grants one more attempt even when the budget is spent.
          set: { run_after: null, status_reason: null, finished_at: null, max_attempts: Math.max(current.maxAttempts, current.attempt + 1), ...(await resumePreference(q, id)) },
        }),
      );
      if (!done) {
        const now = await load(workspaceId, id);
        throw new StateConflictError(`task ${id} is ${now.status}; only failed tasks can be retried`, now.status);
      }
      await refreshQueueReasons(db, [id]);
      announce(done.task);
      return load(workspaceId, id);
    },

    /** An agent asks the user a question (through its task token); the run's end makes the task `blocked`. */
    async ask(taskId: string, question: string): Promise<Task> {
      const { rows } = await db.query(
        `UPDATE tasks SET question = $2, question_attempt = attempt, answer = NULL, updated_at = now()
         WHERE id = $1 AND status = 'executing' RETURNING id`,
        [taskId, question],
      );
      const task = await load(null, taskId);
      if (!rows[0]) throw new StateConflictError(`task ${taskId} is ${task.status}; questions can be asked only while it runs`, task.status);
      announce(task);
      return task;
    },

    async progress(taskId: string, note: string): Promise<Task> {
      const { rows } = await db.query(`UPDATE tasks SET progress_note = $2, updated_at = now() WHERE id = $1 AND status = 'executing' RETURNING id`, [taskId, note]);
      const task = await load(null, taskId);
      if (!rows[0]) throw new StateConflictError(`task ${taskId} is ${task.status}; progress can be reported only while it runs`, task.status);
      announce(task);
      return task;
    },

    async answer(workspaceId: string | null, id: string, answer: string): Promise<Task> {
      await load(workspaceId, id);
      const done = await db.tx(async (q) =>
        transition(q, {
          taskId: id,
          from: ['blocked'],
          to: 'queued',
          actor: 'user',
          reason: 'answered',
          set: { answer, run_after: null, status_reason: null, ...(await resumePreference(q, id)) },
        }),
      );
      if (!done) {
        const now = await load(workspaceId, id);
        throw new StateConflictError(`task ${id} is ${now.status}; only blocked tasks can be answered`, now.status);
      }
      await refreshQueueReasons(db, [id]);
      announce(done.task);
      return load(workspaceId, id);
    },
  };
}

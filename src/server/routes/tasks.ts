import { z } from 'zod';
import {
  answerBody,
  askBody,
  progressBody,
  taskGroup,
  cancelBody,
  createTaskBody,
  errorBody,
  eventsPage,
  eventsQuery,
  listTasksQuery,
  page,
  retryBody,
  task,
  taskRun,
  uuid,
  workspaceId,
} from '../../core/api.js';
import { ForbiddenError, NotFoundError } from '../../core/errors.js';
import { listEvents } from '../../store/events.js';
import { listRuns } from '../../store/runs.js';
import { getTask, listTasks, requireGroup } from '../../store/tasks.js';
import { actingWorkspace, isInstanceAdmin, principal, requireRole, type Principal } from '../auth.js';
import type { Api, RouteContext } from './types.js';

const params = z.object({ id: uuid }).strict();
const scopeQuery = z.object({ workspace: workspaceId.optional() }).strict();
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 422: errorBody };

/** Reads of one task: an instance admin sees any (unless it names a workspace), others only their workspace's. */
function readScope(p: Principal, requested: string | undefined, fallback: string): string | null {
  if (isInstanceAdmin(p) && requested === undefined) return null;
  return actingWorkspace(p, requested, fallback);
}

/** Only the task's own token (handed to its agent) may speak for the agent. */
function requireTaskToken(p: Principal, taskId: string): void {
  if (p.role !== 'task') throw new ForbiddenError('only the agent of this task can do this (with the task token in its environment)');
  if (p.taskId !== taskId) throw new NotFoundError('task', taskId);
}

export function taskRoutes(api: Api, ctx: RouteContext): void {
  api.post('/tasks', { schema: { tags: ['tasks'], summary: 'Create a task in the token\'s workspace; with `agents`, a comparison group (answers the group)', querystring: scopeQuery, body: createTaskBody, response: { 201: z.union([task, taskGroup]), ...errors } } }, async (req, reply) => {
    const p = principal(req);
    requireRole(p, 'member');
    const ws = actingWorkspace(p, req.query.workspace, ctx.defaultWorkspace);
    const created = await ctx.tasks.create(ws, req.body, p.id);
    if ('group' in created) {
      req.log.info({ groupId: created.group.id, workspaceId: ws, agents: req.body.agents }, 'task group created');
      return reply.status(201).send(created.group);
    }
    req.log.info({ taskId: created.task.id, workspaceId: ws, agent: created.task.assignedAgent }, 'task created');
    return reply.status(201).send(created.task);
  });

  api.get('/task-groups/:id', { schema: { tags: ['tasks'], summary: 'A comparison group: each agent\'s task with its latest run', params, querystring: scopeQuery, response: { 200: taskGroup, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    return requireGroup(ctx.db, readScope(p, req.query.workspace, ctx.defaultWorkspace), req.params.id);
  });

  // The agent's own channel back (its task token is in its environment as SWITCHYARD_TOKEN).
  api.post('/tasks/:id/ask', { schema: { tags: ['agents'], summary: 'An agent asks the user a question; the task becomes blocked when the run ends', params, body: askBody, response: { 200: task, ...errors } } }, async (req) => {
    requireTaskToken(principal(req), req.params.id);
    return ctx.tasks.ask(req.params.id, req.body.question);
  });

  api.post('/tasks/:id/progress', { schema: { tags: ['agents'], summary: 'An agent reports progress', params, body: progressBody, response: { 200: task, ...errors } } }, async (req) => {
    requireTaskToken(principal(req), req.params.id);
    return ctx.tasks.progress(req.params.id, req.body.message);
  });

  api.get('/tasks', { schema: { tags: ['tasks'], summary: 'List tasks, newest first', querystring: listTasksQuery, response: { 200: page(task), ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    const ws = actingWorkspace(p, req.query.workspace, ctx.defaultWorkspace);
    return listTasks(ctx.db, {
      workspaceId: ws,
      statuses: req.query.status,
      agent: req.query.agent,
      groupId: req.query.groupId,
      limit: req.query.limit,
      cursor: req.query.cursor,
    });
  });

  api.get('/tasks/:id', { schema: { tags: ['tasks'], summary: 'A task with its timeline', params, querystring: scopeQuery, response: { 200: task, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    const t = await getTask(ctx.db, readScope(p, req.query.workspace, ctx.defaultWorkspace), req.params.id, true);
    if (!t) throw new NotFoundError('task', req.params.id);
    return t;
  });

  api.get('/tasks/:id/runs', { schema: { tags: ['tasks'], summary: 'The attempts of a task', params, querystring: scopeQuery, response: { 200: z.object({ items: z.array(taskRun), nextCursor: z.null() }), ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    const t = await getTask(ctx.db, readScope(p, req.query.workspace, ctx.defaultWorkspace), req.params.id);
    if (!t) throw new NotFoundError('task', req.params.id);
    return { items: await listRuns(ctx.db, t.id), nextCursor: null };
  });

  api.get('/tasks/:id/events', { schema: { tags: ['tasks'], summary: 'The transcript, after a seq', params, querystring: eventsQuery, response: { 200: eventsPage, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    const t = await getTask(ctx.db, readScope(p, req.query.workspace, ctx.defaultWorkspace), req.params.id);
    if (!t) throw new NotFoundError('task', req.params.id);
    return listEvents(ctx.db, t.id, req.query.after, req.query.limit);
  });

  api.post('/tasks/:id/cancel', { schema: { tags: ['tasks'], summary: 'Cancel; a running task answers 202 and becomes cancelled once its process group is gone', params, querystring: scopeQuery, body: cancelBody.nullish(), response: { 200: task, 202: task, ...errors } } }, async (req, reply) => {
    const p = principal(req);
    requireRole(p, 'member');
    const { task: t, pending } = await ctx.tasks.cancel(readScope(p, req.query.workspace, ctx.defaultWorkspace), req.params.id, req.body?.reason);
    return reply.status(pending ? 202 : 200).send(t);
  });

  api.post('/tasks/:id/retry', { schema: { tags: ['tasks'], summary: 'Re-queue a failed task', params, querystring: scopeQuery, body: retryBody.nullish(), response: { 200: task, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'member');
    return ctx.tasks.retry(readScope(p, req.query.workspace, ctx.defaultWorkspace), req.params.id, req.body?.reason);
  });

  api.post('/tasks/:id/answer', { schema: { tags: ['tasks'], summary: 'Answer a blocked task\'s question; it is re-queued to resume its session', params, querystring: scopeQuery, body: answerBody, response: { 200: task, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'member');
    return ctx.tasks.answer(readScope(p, req.query.workspace, ctx.defaultWorkspace), req.params.id, req.body.answer);
  });
}

import { z } from 'zod';
import { createWorkspaceBody, errorBody, updateWorkspaceBody, workspace, workspaceId } from '../../core/api.js';
import { createWorkspace, deleteWorkspace, listWorkspaces, requireWorkspace, updateWorkspace } from '../../store/workspaces.js';
import { assertCanSeeWorkspace, isInstanceAdmin, principal, requireInstanceAdmin, requireRole } from '../auth.js';
import type { Api, RouteContext } from './types.js';

const params = z.object({ id: workspaceId }).strict();
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

export function workspaceRoutes(api: Api, ctx: RouteContext): void {
  api.post('/workspaces', { schema: { tags: ['workspaces'], summary: 'Create a workspace (instance admin)', body: createWorkspaceBody, response: { 201: workspace, ...errors } } }, async (req, reply) => {
    requireInstanceAdmin(principal(req));
    const ws = await createWorkspace(ctx.db, req.body);
    ctx.log.info({ workspaceId: ws.id }, 'workspace created');
    return reply.status(201).send(ws);
  });

  api.get('/workspaces', { schema: { tags: ['workspaces'], summary: 'List workspaces (an instance admin sees all, others their own)', response: { 200: z.object({ items: z.array(workspace), nextCursor: z.null() }), ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    const items = await listWorkspaces(ctx.db, isInstanceAdmin(p) ? undefined : (p.workspaceId ?? '\u0000'));
    return { items, nextCursor: null };
  });

  api.get('/workspaces/:id', { schema: { tags: ['workspaces'], params, response: { 200: workspace, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    assertCanSeeWorkspace(p, req.params.id);
    return requireWorkspace(ctx.db, req.params.id);
  });

  api.patch('/workspaces/:id', { schema: { tags: ['workspaces'], params, body: updateWorkspaceBody, response: { 200: workspace, ...errors } } }, async (req) => {
    const p = principal(req);
    assertCanSeeWorkspace(p, req.params.id);
    requireRole(p, 'admin');
    const ws = await updateWorkspace(ctx.db, req.params.id, req.body);
    ctx.bus.publish('dispatch', {});
    return ws;
  });

  api.delete('/workspaces/:id', { schema: { tags: ['workspaces'], summary: 'Delete a workspace and everything in it (instance admin)', params, response: { 204: z.null(), ...errors } } }, async (req, reply) => {
    const p = principal(req);
    assertCanSeeWorkspace(p, req.params.id);
    requireInstanceAdmin(p);
    await deleteWorkspace(ctx.db, req.params.id);
    ctx.log.warn({ workspaceId: req.params.id }, 'workspace deleted');
    return reply.status(204).send(null);
  });
}

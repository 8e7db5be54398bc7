import { z } from 'zod';
import { createdToken, createTokenBody, errorBody, token, uuid, workspaceId } from '../../core/api.js';
import { NotFoundError } from '../../core/errors.js';
import { createToken, getTokenRow, listTokens, revokeToken } from '../../store/tokens.js';
import { requireWorkspace } from '../../store/workspaces.js';
import { assertCanSeeWorkspace, isInstanceAdmin, principal, requireInstanceAdmin, requireRole } from '../auth.js';
import type { Api, RouteContext } from './types.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };
const wsParams = z.object({ id: workspaceId }).strict();

const instanceTokenBody = z
  .object({
    role: z.enum(['admin', 'daemon']),
    name: z.string().trim().min(1).max(100),
    /** Daemon tokens: the workspaces the runtime may serve; omitted = all. */
    workspaces: z.array(workspaceId).min(1).max(1000).optional(),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

const expiry = (days: number | undefined) => (days ? new Date(Date.now() + days * 86_400_000) : null);

export function tokenRoutes(api: Api, ctx: RouteContext): void {
  api.post('/workspaces/:id/tokens', { schema: { tags: ['tokens'], summary: 'Create a workspace token; the secret is in this answer only', params: wsParams, body: createTokenBody, response: { 201: createdToken, ...errors } } }, async (req, reply) => {
    const p = principal(req);
    assertCanSeeWorkspace(p, req.params.id);
    requireRole(p, 'admin');
    await requireWorkspace(ctx.db, req.params.id);
    const t = await createToken(ctx.db, {
      role: req.body.role,
      name: req.body.name,
      workspaceId: req.params.id,
      daemonWorkspaces: req.body.role === 'daemon' ? [req.params.id] : null,
      expiresAt: expiry(req.body.expiresInDays),
    });
    return reply.status(201).send(t);
  });

  api.get('/workspaces/:id/tokens', { schema: { tags: ['tokens'], params: wsParams, response: { 200: z.object({ items: z.array(token), nextCursor: z.null() }), ...errors } } }, async (req) => {
    const p = principal(req);
    assertCanSeeWorkspace(p, req.params.id);
    requireRole(p, 'admin');
    await requireWorkspace(ctx.db, req.params.id);
    return { items: await listTokens(ctx.db, req.params.id), nextCursor: null };
  });

  api.post('/tokens', { schema: { tags: ['tokens'], summary: 'Create an instance-wide admin or daemon token (instance admin)', body: instanceTokenBody, response: { 201: createdToken, ...errors } } }, async (req, reply) => {
    requireInstanceAdmin(principal(req));
    for (const ws of req.body.workspaces ?? []) await requireWorkspace(ctx.db, ws);
    const t = await createToken(ctx.db, {
      role: req.body.role,
      name: req.body.name,
      workspaceId: null,
      daemonWorkspaces: req.body.role === 'daemon' ? (req.body.workspaces ?? null) : null,
      expiresAt: expiry(req.body.expiresInDays),
    });
    return reply.status(201).send(t);
  });

  api.get('/tokens', { schema: { tags: ['tokens'], summary: 'Instance-wide tokens (instance admin)', response: { 200: z.object({ items: z.array(token), nextCursor: z.null() }), ...errors } } }, async (req) => {
    requireInstanceAdmin(principal(req));
    return { items: await listTokens(ctx.db, null), nextCursor: null };
  });

  api.delete('/tokens/:id', { schema: { tags: ['tokens'], summary: 'Revoke a token', params: z.object({ id: uuid }).strict(), response: { 200: token, ...errors } } }, async (req) => {
    const p = principal(req);
    const t = await getTokenRow(ctx.db, req.params.id);
    // A workspace admin may revoke its own workspace's tokens; any other token is "not found".
    if (!t || (!isInstanceAdmin(p) && t.workspaceId !== p.workspaceId)) throw new NotFoundError('token', req.params.id);
    requireRole(p, 'admin');
    const revoked = await revokeToken(ctx.db, req.params.id);
    ctx.auth.invalidate(revoked.id);
    return revoked;
  });
}

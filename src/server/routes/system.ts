import { z } from 'zod';
import { daemon, errorBody, whoami, workspaceId } from '../../core/api.js';
import { coerceError, NotFoundError } from '../../core/errors.js';
import { pendingMigrations } from '../../store/migrate.js';
import { daemonHealthHistory, listDaemons } from '../../store/daemons.js';
import { actingWorkspace, isInstanceAdmin, principal, requireInstanceAdmin, requireRole } from '../auth.js';
import { withTimeout } from '../metrics.js';
import type { Api, RouteContext } from './types.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };

/** How long /readyz waits for the database: a probe must answer before the load balancer's own timeout (often 2–5 s). */
const READY_TIMEOUT_MS = 2_000;

/**
 * Unauthenticated probes for load balancers and orchestrators: /healthz says
 * the process serves HTTP; /readyz that it can do its work — the database
 * answers within 2 s, its migrations are applied, and (PostgreSQL) its
 * LISTEN connection is up, so it hears the other servers.
 */
export function probeRoutes(app: Api, ctx: RouteContext): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    let pending: string[];
    try {
      pending = await withTimeout(pendingMigrations(ctx.db), READY_TIMEOUT_MS, 'the database');
    } catch (err) {
      // The cause stays in the log: this answer is public.
      ctx.log.warn({ err: coerceError(err) }, 'readiness check: database unreachable');
      return reply.status(503).send({ status: 'not_ready', reason: 'database unreachable' });
    }
    if (pending.length > 0) return reply.status(503).send({ status: 'not_ready', reason: `migrations pending: ${pending.join(', ')}` });
    if (!ctx.bus.listening()) return reply.status(503).send({ status: 'not_ready', reason: 'the LISTEN connection to PostgreSQL is down (reconnecting); other servers cannot reach this one' });
    return { status: 'ready' };
  });
}

export function systemRoutes(api: Api, ctx: RouteContext): void {
  api.get('/me', { schema: { tags: ['system'], summary: 'Who this token is', response: { 200: whoami, ...errors } } }, async (req) => {
    const p = principal(req);
    return { tokenId: p.id, role: p.role, workspaceId: p.workspaceId, name: p.name, defaultWorkspace: p.workspaceId ?? ctx.defaultWorkspace };
  });

  api.post('/maintenance/run', { schema: { tags: ['system'], summary: 'Run the maintenance job now (instance admin): partitions, retention, daily metrics', response: { 200: z.record(z.string(), z.unknown()), ...errors } } }, async (req) => {
    requireInstanceAdmin(principal(req));
    return { ...(await ctx.maintenance.runNow()) };
  });

  api.get('/daemons', { schema: { tags: ['runtimes'], summary: 'Runtimes that may serve the workspace', querystring: z.object({ workspace: workspaceId.optional() }).strict(), response: { 200: z.object({ items: z.array(daemon), nextCursor: z.null() }), ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    const scope = isInstanceAdmin(p) && req.query.workspace === undefined ? null : actingWorkspace(p, req.query.workspace, ctx.defaultWorkspace);
    return { items: await listDaemons(ctx.db, scope), nextCursor: null };
  });

  api.get('/daemons/:id/health', { schema: { tags: ['runtimes'], summary: 'Recent health reports', params: z.object({ id: z.string().uuid() }).strict(), response: { 200: z.object({ items: z.array(z.object({ at: z.string(), cpu: z.number(), memUsedMb: z.number() })) }), ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    const visible = await listDaemons(ctx.db, isInstanceAdmin(p) ? null : p.workspaceId);
    if (!visible.some((d) => d.id === req.params.id)) throw new NotFoundError('runtime', req.params.id);
    return { items: await daemonHealthHistory(ctx.db, req.params.id) };
  });
}

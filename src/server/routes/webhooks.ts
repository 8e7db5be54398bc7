import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errorBody, uuid, workspaceId } from '../../core/api.js';
import { NotFoundError } from '../../core/errors.js';
import { createdWebhook, createWebhookBody, deliveriesPage, deliveriesQuery, generateWebhookSecret, updatedWebhook, updateWebhookBody, webhook, webhookDelivery } from '../../core/webhooks.js';
import { requireWorkspace } from '../../store/workspaces.js';
import { createSubscription, deleteSubscription, getDelivery, getSubscription, listDeliveries, listSubscriptions, updateSubscription } from '../../store/webhooks.js';
import { actingWorkspace, principal, requireRole } from '../auth.js';
import type { WebhookWorker } from '../webhooks.js';
import type { Api, RouteContext } from './types.js';

const params = z.object({ id: uuid }).strict();
const deliveryParams = z.object({ id: uuid, deliveryId: uuid }).strict();
const scopeQuery = z.object({ workspace: workspaceId.optional() }).strict();
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/**
 * A workspace's webhooks, for its admins (an instance admin names the
 * workspace with `?workspace=`). Another workspace's webhook answers 404,
 * as if it did not exist. The secret is answered only by the calls that make
 * one: POST, and PATCH with `rotateSecret`.
 */
export function webhookRoutes(api: Api, ctx: RouteContext, worker: WebhookWorker): void {
  const scope = (req: FastifyRequest & { query: { workspace?: string } }) => {
    const p = principal(req);
    requireRole(p, 'admin');
    return actingWorkspace(p, req.query.workspace, ctx.defaultWorkspace);
  };
  const load = async (ws: string, id: string) => {
    const w = await getSubscription(ctx.db, ws, id);
    if (!w) throw new NotFoundError('webhook', id);
    return w;
  };

  api.post('/webhooks', { schema: { tags: ['webhooks'], summary: 'Subscribe a URL to the workspace\'s events; the signing secret is in this answer only', querystring: scopeQuery, body: createWebhookBody, response: { 201: createdWebhook, ...errors } } }, async (req, reply) => {
    const ws = scope(req);
    await requireWorkspace(ctx.db, ws);
    const { secret, ...b } = req.body;
    const created = await createSubscription(ctx.db, { workspaceId: ws, ...b, secret: secret ?? generateWebhookSecret(), createdBy: principal(req).id });
    req.log.info({ webhookId: created.id, workspaceId: ws, events: created.events, format: created.format }, 'webhook created');
    return reply.status(201).send(created);
  });

  api.get('/webhooks', { schema: { tags: ['webhooks'], summary: 'The workspace\'s webhooks', querystring: scopeQuery, response: { 200: z.object({ items: z.array(webhook), nextCursor: z.null() }), ...errors } } }, async (req) => {
    return { items: await listSubscriptions(ctx.db, scope(req)), nextCursor: null };
  });

  api.get('/webhooks/:id', { schema: { tags: ['webhooks'], params, querystring: scopeQuery, response: { 200: webhook, ...errors } } }, async (req) => load(scope(req), req.params.id));

  api.patch('/webhooks/:id', { schema: { tags: ['webhooks'], summary: 'Change a webhook; `active: false` pauses it, `rotateSecret` answers a new secret once', params, querystring: scopeQuery, body: updateWebhookBody, response: { 200: updatedWebhook, ...errors } } }, async (req) => {
    const ws = scope(req);
    const { rotateSecret, ...patch } = req.body;
    const secret = rotateSecret ? generateWebhookSecret() : undefined;
    const updated = await updateSubscription(ctx.db, ws, req.params.id, { ...patch, ...(secret ? { secret } : {}) });
    if (!updated) throw new NotFoundError('webhook', req.params.id);
    // Resumed: what waited while it was paused goes now.
    if (patch.active) worker.wake();
    return secret ? { ...updated, secret } : updated;
  });

  api.delete('/webhooks/:id', { schema: { tags: ['webhooks'], summary: 'Delete a webhook with its delivery log (pending deliveries are dropped)', params, querystring: scopeQuery, response: { 200: webhook, ...errors } } }, async (req) => {
    const ws = scope(req);
    const w = await load(ws, req.params.id);
    if (!(await deleteSubscription(ctx.db, ws, req.params.id))) throw new NotFoundError('webhook', req.params.id);
    return w;
  });

  api.get('/webhooks/:id/deliveries', { schema: { tags: ['webhooks'], summary: 'The delivery log, newest first: status, attempts, last answer or error', params, querystring: deliveriesQuery, response: { 200: deliveriesPage, ...errors } } }, async (req) => {
    const w = await load(scope(req), req.params.id);
    return listDeliveries(ctx.db, w.id, { status: req.query.status, limit: req.query.limit, cursor: req.query.cursor });
  });

  api.get('/webhooks/:id/deliveries/:deliveryId', { schema: { tags: ['webhooks'], params: deliveryParams, querystring: scopeQuery, response: { 200: webhookDelivery, ...errors } } }, async (req) => {
    const w = await load(scope(req), req.params.id);
    const d = await getDelivery(ctx.db, req.params.deliveryId);
    if (!d || d.webhookId !== w.id) throw new NotFoundError('delivery', req.params.deliveryId);
    return d;
  });

  api.post('/webhooks/:id/test', { schema: { tags: ['webhooks'], summary: 'Queue a webhook.test event for this webhook (202); follow it in its deliveries', params, querystring: scopeQuery, response: { 202: webhookDelivery, ...errors } } }, async (req, reply) => {
    const w = await load(scope(req), req.params.id);
    return reply.status(202).send(await worker.sendTest(w));
  });
}

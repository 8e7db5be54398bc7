import { z } from 'zod';
import {
  archiveBody,
  archiveResult,
  createSkillBody,
  errorBody,
  importResult,
  importSkillsBody,
  reembedBody,
  reembedStatus,
  restoreBody,
  restoreResult,
  skill,
  skillHit,
  skillsQuery,
  uuid,
  workspaceId,
} from '../../core/api.js';
import { actingWorkspace, principal, requireRole } from '../auth.js';
import type { Api, RouteContext } from './types.js';

const params = z.object({ id: uuid }).strict();
const scopeQuery = z.object({ workspace: workspaceId.optional() }).strict();
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody };

/**
 * The skill library of the token's workspace (an instance admin names one
 * with ?workspace=). Every query is scoped to that workspace: another
 * workspace's skill answers 404, as if it did not exist.
 */
export function skillRoutes(api: Api, ctx: RouteContext): void {
  const scope = (req: { query: { workspace?: string | undefined } }, p: ReturnType<typeof principal>) => actingWorkspace(p, req.query.workspace, ctx.defaultWorkspace);

  api.get('/skills', { schema: { tags: ['skills'], summary: 'Search skills (?q=, best first) or list them (most recently used first)', querystring: skillsQuery, response: { 200: z.object({ items: z.array(skillHit), nextCursor: z.string().nullable() }), ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    const ws = scope(req, p);
    if (req.query.q) {
      const hits = await ctx.skills.search(ws, req.query.q, req.query.limit ?? 10);
      return { items: hits.map(({ similarity: _s, textRank: _t, ...h }) => h), nextCursor: null };
    }
    const page = await ctx.skills.list(ws, req.query.limit ?? 50, req.query.cursor);
    return {
      items: page.items.map((s) => ({ id: s.id, name: s.name, description: s.description, score: null, usageCount: s.usageCount, embeddingModel: s.embeddingModel, lastUsedAt: s.lastUsedAt, sourceTaskId: s.sourceTaskId })),
      nextCursor: page.nextCursor,
    };
  });

  api.post('/skills', { schema: { tags: ['skills'], summary: 'Add a skill by hand; a near-duplicate bumps the existing one (200) instead', querystring: scopeQuery, body: createSkillBody, response: { 200: skill, 201: skill, ...errors } } }, async (req, reply) => {
    const p = principal(req);
    requireRole(p, 'member');
    const ws = scope(req, p);
    const r = await ctx.skills.add(ws, req.body);
    return reply.status(r.merged ? 200 : 201).send(await ctx.skills.get(ws, r.id));
  });

  api.post('/skills/import', { schema: { tags: ['skills'], summary: 'Add up to 500 skills at once (embedded in one batch)', querystring: scopeQuery, body: importSkillsBody, response: { 200: importResult, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'member');
    return ctx.skills.import(scope(req, p), req.body.items);
  });

  api.get('/skills/reembed', { schema: { tags: ['skills'], summary: 'Progress of the workspace\'s re-embedding', querystring: scopeQuery, response: { 200: reembedStatus, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    return ctx.skills.reembedStatus(scope(req, p));
  });

  api.post('/skills/reembed', { schema: { tags: ['skills'], summary: 'Re-embed every skill with another model (in the background; old vectors answer queries until it is done)', querystring: scopeQuery, body: reembedBody, response: { 202: reembedStatus, ...errors } } }, async (req, reply) => {
    const p = principal(req);
    requireRole(p, 'admin');
    return reply.status(202).send(await ctx.skills.startReembed(scope(req, p), req.body.model));
  });

  api.post('/skills/archive', { schema: { tags: ['skills'], summary: 'Move skills unused for the retention period to cold storage', querystring: scopeQuery, body: archiveBody.nullish(), response: { 200: archiveResult, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'admin');
    return ctx.skills.archive(scope(req, p), req.body?.olderThanDays);
  });

  api.post('/skills/restore', { schema: { tags: ['skills'], summary: 'Bring archived skills back (a file of the archive folder, or the records)', querystring: scopeQuery, body: restoreBody, response: { 200: restoreResult, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'admin');
    return ctx.skills.restore(scope(req, p), req.body);
  });

  api.get('/skills/:id', { schema: { tags: ['skills'], params, querystring: scopeQuery, response: { 200: skill, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'viewer');
    return ctx.skills.get(scope(req, p), req.params.id);
  });

  api.delete('/skills/:id', { schema: { tags: ['skills'], params, querystring: scopeQuery, response: { 204: z.null(), ...errors } } }, async (req, reply) => {
    const p = principal(req);
    requireRole(p, 'member');
    await ctx.skills.delete(scope(req, p), req.params.id);
    return reply.status(204).send(null);
  });
}

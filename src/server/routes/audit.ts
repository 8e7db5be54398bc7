import { errorBody } from '../../core/api.js';
import { auditListQuery, auditPage, auditVerification, auditVerifyQuery } from '../../core/audit.js';
import { listAudit, verifyAuditChain } from '../../store/audit.js';
import { actingWorkspace, principal, requireRole } from '../auth.js';
import type { Api, RouteContext } from './types.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody };

/**
 * Reading the audit log: a workspace admin reads its own workspace's, an
 * instance admin any workspace's (`?workspace=`, also one that was deleted).
 * There is deliberately no route that changes or deletes a record.
 */
export function auditRoutes(api: Api, ctx: RouteContext): void {
  api.get('/audit', { schema: { tags: ['audit'], summary: 'The workspace\'s audit records, newest first', querystring: auditListQuery, response: { 200: auditPage, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'admin');
    const ws = actingWorkspace(p, req.query.workspace, ctx.defaultWorkspace);
    return listAudit(ctx.db, ws, { limit: req.query.limit, cursor: req.query.cursor });
  });

  api.get('/audit/verify', { schema: { tags: ['audit'], summary: 'Walk the workspace\'s hash chain and report the first broken link', querystring: auditVerifyQuery, response: { 200: auditVerification, ...errors } } }, async (req) => {
    const p = principal(req);
    requireRole(p, 'admin');
    const ws = actingWorkspace(p, req.query.workspace, ctx.defaultWorkspace);
    const result = await verifyAuditChain(ctx.db, ws);
    if (!result.ok) req.log.warn({ workspaceId: ws, broken: result.broken }, 'audit chain verification found a broken link');
    return result;
  });
}

import { errorBody, failurePatterns, failurePatternsQuery } from '../../core/api.js';
import { failurePatterns as readFailurePatterns } from '../../store/failures.js';
import { actingWorkspace, principal, requireRole } from '../auth.js';
import type { Api, RouteContext } from './types.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody };

/**
 * Recurring failures, so that a prompt or a configuration that keeps failing
 * shows up as one large group instead of many separate red tasks. Anyone who
 * may read the workspace's tasks may read these.
 */
export function failureRoutes(api: Api, ctx: RouteContext): void {
  api.get(
    '/failures/patterns',
    {
      schema: {
        tags: ['failures'],
        summary: 'The workspace\'s failed runs since a time, grouped by failure class, agent, model or prompt; largest groups first',
        querystring: failurePatternsQuery,
        response: { 200: failurePatterns, ...errors },
      },
    },
    async (req) => {
      const p = principal(req);
      requireRole(p, 'viewer');
      const ws = actingWorkspace(p, req.query.workspace, ctx.defaultWorkspace);
      return readFailurePatterns(ctx.db, {
        workspaceId: ws,
        since: req.query.since,
        groupBy: req.query.groupBy,
        limit: req.query.limit,
        agent: req.query.agent,
        failureClass: req.query.class,
      });
    },
  );
}

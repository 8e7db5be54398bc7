/**
 * Serves the built dashboard (web/dist) at `/`. When it has not been built,
 * `/` explains how to build it instead of answering 404.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export const DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export function dashboardPlugin(log: Logger, dir = DASHBOARD_DIR) {
  return async (app: FastifyInstance): Promise<void> => {
    if (!existsSync(`${dir}/index.html`)) {
      log.warn({ dir }, 'dashboard not built; run `npm run build`');
      app.get('/', { schema: { hide: true } }, async (_req, reply) =>
        reply.type('text/plain').send('The dashboard is not built. Run `npm run build` in the switchyard folder, then restart.\nThe API is at /api/v1 (reference at /docs).\n'),
      );
      return;
    }
    await app.register(fastifyStatic, { root: dir, prefix: '/', wildcard: false, index: ['index.html'] });
  };
}

import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Orchestrator } from '../../core/config/index.js';
import type { Db } from '../../store/db.js';
import type { Authenticator } from '../auth.js';
import type { Bus } from '../bus.js';
import type { MaintenanceScheduler } from '../maintenance.js';
import type { DaemonHub } from '../daemonHub.js';
import type { StreamHub } from '../streamHub.js';
import type { TaskService } from '../taskService.js';
import type { SkillService } from '../../skills/skillService.js';

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** What route modules need from the server. */
export interface RouteContext {
  db: Db;
  bus: Bus;
  config: Orchestrator;
  log: Logger;
  auth: Authenticator;
  tasks: TaskService;
  daemons: DaemonHub;
  streams: StreamHub;
  defaultWorkspace: string;
  skills: SkillService;
  maintenance: MaintenanceScheduler;
}

/**
 * The server: REST API, the runtimes' and dashboards' WebSockets, the
 * dispatcher and the reaper, over one database. `createServer` wires the
 * parts; `listen` starts serving.
 */
import { randomUUID } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { deflateOptions } from '../core/compression.js';
import { runLeaseMs } from '../core/runLease.js';
import type { Orchestrator } from '../core/config/index.js';
import { AuthError } from '../core/errors.js';
import type { Db } from '../store/db.js';
import { markServerDaemonsOffline } from '../store/daemons.js';
import { auditMaintenance, installAuditHooks } from './audit.js';
import { bearer, createAuthenticator, type Authenticator } from './auth.js';
import { createBus, type Bus } from './bus.js';
import { createDaemonHub, type DaemonHub } from './daemonHub.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { frameworkError, installErrorHandling } from './errorHandler.js';
import { createEventWriter } from './eventWriter.js';
import { scheduleMaintenance, type MaintenanceScheduler, type MaintenanceStep } from './maintenance.js';
import { createMetrics, metricsRoute, type Metrics } from './metrics.js';
import { createReaper, type Reaper } from './reaper.js';
import { auditRoutes } from './routes/audit.js';
import { failureRoutes } from './routes/failures.js';
import { probeRoutes, systemRoutes } from './routes/system.js';
import { taskRoutes } from './routes/tasks.js';
import { tokenRoutes } from './routes/tokens.js';
import type { Api, RouteContext } from './routes/types.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { createStreamHub, type StreamHub } from './streamHub.js';
import { skillRoutes } from './routes/skills.js';
import { createSkillService, defaultArchiveDir, defaultModelDir, type SkillService, type SkillServiceOptions } from '../skills/skillService.js';
import { createTaskService, type TaskService } from './taskService.js';
import { webhookRoutes } from './routes/webhooks.js';
import { createWebhookWorker, type WebhookWorker } from './webhooks.js';

export interface ServerOptions {
  db: Db;
  config: Orchestrator;
  log: Logger;
  version: string;
  /** Workspace used when an instance admin names none. */
  defaultWorkspace: string;
  serverId?: string;
  /** Extra route plugins (the dashboard's static files). */
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
  reaperIntervalMs?: number;
  /** The data folder: the local embedding model and skill archives live under it (default: SWITCHYARD_HOME or ~/.switchyard). */
  dataDir?: string;
  /** Skill library tuning (tests: a fast provider, short backoffs). */
  skills?: Partial<Omit<SkillServiceOptions, 'db' | 'log' | 'config'>>;
  /** Extra maintenance steps, run with the built-in ones. */
  maintenanceSteps?: Record<string, MaintenanceStep>;
}

export interface Server {
  app: FastifyInstance;
  serverId: string;
  bus: Bus;
  auth: Authenticator;
  tasks: TaskService;
  daemons: DaemonHub;
  streams: StreamHub;
  dispatcher: Dispatcher;
  reaper: Reaper;
  metrics: Metrics;
  skills: SkillService;
  maintenance: MaintenanceScheduler;
  webhooks: WebhookWorker;
  listen(port?: number, host?: string): Promise<string>;
  url(): string;
  close(): Promise<void>;
}

export async function createServer(opts: ServerOptions): Promise<Server> {
  const { db, config } = opts;
  const serverId = opts.serverId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // Every line of this server names it: with several servers, logs are read merged.
  const log = opts.log.child({ serverId });
  const maxMessage = config.streaming.max_message_size;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Room for the largest prompt plus the rest of a task body; the prompt
    // itself is checked against max_prompt_size with a precise message.
    bodyLimit: Math.max(1024 * 1024, config.runtime.max_prompt_size * 2 + 64 * 1024),
    // Per-request lines would drown the log; outcomes are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    // Client addresses (logs, audit) from the proxy's X-Forwarded-For, when configured to trust it.
    trustProxy: config.runtime.trust_proxy,
    // Dashboards and runtimes hold sockets open; closing must not wait for them.
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 200 },
    // Malformed URLs answer in the API's error shape, like everything else.
    frameworkErrors: frameworkError,
  });
  // The API speaks JSON only: a text/plain body is refused (415), not parsed.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);

  let baseUrl = '';
  const bus = await createBus(db, serverId, log);
  const auth = createAuthenticator(db);
  const streams = createStreamHub({ db, bus, auth, log, maxMessageSize: maxMessage });
  const writer = createEventWriter(db);
  const metrics = createMetrics({ db, log, daemons: () => daemons.stats(), dashboards: () => streams.clientCount() });
  const daemons = createDaemonHub({ db, bus, config, log, serverId, version: opts.version, streams, writer, metrics, publicUrl: () => baseUrl });
  const dispatcher = createDispatcher({ db, bus, hub: daemons, log, metrics, claimLeaseMs: config.runtime.lease, publicUrl: () => baseUrl, prepareAssign: (t) => skills.forAssign(t) });
  const reaper = createReaper({ db, bus, log, daemonSilenceMs: runLeaseMs(config), intervalMs: opts.reaperIntervalMs, metrics });
  const dataDir = opts.dataDir ?? process.env.SWITCHYARD_HOME ?? join(homedir(), '.switchyard');
  const skills = createSkillService({
    db,
    log: log.child({ role: 'skills' }),
    config,
    modelDir: defaultModelDir(dataDir),
    archiveDir: config.workspace?.skill_archive_dir ?? defaultArchiveDir(dataDir),
    ...opts.skills,
  });
  daemons.onCompleted((task) => {
    // Queued work: the task is already completed; indexing never delays that.
    skills.enqueueIndexing(task.id, task.workspaceId).catch((err: unknown) => log.error({ err, taskId: task.id }, 'queueing the skill indexing failed'));
  });
  const tasks = createTaskService({ db, bus, config, log, skills });
  // daemon.offline waits as long as the reaper does before it calls a silent runtime offline.
  const webhooks = createWebhookWorker({ db, bus, config, log: log.child({ role: 'webhooks' }), version: opts.version, offlineAfterMs: runLeaseMs(config) });
  const maintenance = scheduleMaintenance(db, config, log, { ...auditMaintenance(db, config.retention.audit), skills: () => skills.maintain(), ...opts.maintenanceSteps });
  const ctx: RouteContext = { db, bus, config, log, auth, tasks, daemons, streams, defaultWorkspace: opts.defaultWorkspace, skills, maintenance };

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Switchyard API', version: opts.version, description: 'Tasks for coding-agent CLIs, their runtimes and transcripts.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(fastifyWebsocket, {
    options: {
      // Frames over the configured cap are refused with an error frame by
      // the handlers; only frames far beyond it are cut off by the library.
      maxPayload: maxMessage * 4,
      perMessageDeflate: deflateOptions(config.streaming.compression),
    },
    // A client's protocol error (a text frame that is not UTF-8, a frame over
    // maxPayload): ws has already answered it with a close frame (1007, 1009,
    // 1002). The plugin's default handler logged it as a server error and
    // terminated the socket, cutting that close frame off (the client saw
    // 1006). Found by test/server/fuzz/sockets.test.ts.
    errorHandler: (err, socket, req) => {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
        req.log.info({ code, reason: err.message }, 'websocket client sent an invalid frame; closed');
        return;
      }
      req.log.error({ err }, 'websocket failed');
      socket.terminate();
    },
  });

  const typed = app.withTypeProvider<ZodTypeProvider>() as unknown as Api;
  probeRoutes(typed, ctx);
  metricsRoute(app, metrics, config.runtime.metrics_token);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(
    async (scope) => {
      scope.addHook('onRequest', async (req) => {
        if (req.routeOptions.config && (req.routeOptions.config as { public?: boolean }).public) return;
        const secret = bearer(req);
        if (!secret) throw new AuthError('send a bearer token: Authorization: Bearer <token>');
        const p = await auth.authenticate(secret);
        if (!p) throw new AuthError('the token is unknown, revoked or expired');
        req.principal = p;
      });
      installAuditHooks(scope, { db, defaultWorkspace: opts.defaultWorkspace });
      const api = scope.withTypeProvider<ZodTypeProvider>() as unknown as Api;
      workspaceRoutes(api, ctx);
      tokenRoutes(api, ctx);
      taskRoutes(api, ctx);
      skillRoutes(api, ctx);
      webhookRoutes(api, ctx, webhooks);
      systemRoutes(api, ctx);
      auditRoutes(api, ctx);
      failureRoutes(api, ctx);
      scope.get('/stream', { websocket: true, config: { public: true }, schema: { hide: true } }, (socket) => streams.accept(socket));
      scope.get('/daemon/connect', { websocket: true, schema: { hide: true } }, (socket, req) => {
        const p = req.principal;
        if (!p || p.role !== 'daemon') {
          socket.send(JSON.stringify({ type: 'error', code: 'forbidden', message: 'runtimes connect with a daemon token' }));
          socket.close(4403, 'daemon token required');
          return;
        }
        daemons.accept(socket, p, req.ip);
      });
    },
    { prefix: '/api/v1' },
  );
  for (const plugin of opts.plugins ?? []) await plugin(app);
  await skills.start();
  webhooks.start();

  return {
    app,
    serverId,
    bus,
    auth,
    tasks,
    daemons,
    streams,
    dispatcher,
    reaper,
    metrics,
    skills,
    maintenance,
    webhooks,
    async listen(port = config.runtime.daemon_port, host = config.runtime.host) {
      await app.listen({ port, host });
      const addr = app.server.address();
      const actualPort = typeof addr === 'object' && addr ? addr.port : port;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      baseUrl = `http://${shownHost}:${actualPort}`;
      log.info({ url: baseUrl }, 'server listening');
      return baseUrl;
    },
    url: () => baseUrl,
    async close() {
      dispatcher.stop();
      reaper.stop();
      maintenance.stop();
      daemons.close();
      streams.close();
      await app.close();
      await dispatcher.idle();
      await writer.drain();
      await skills.stop();
      await webhooks.stop();
      await markServerDaemonsOffline(db, serverId).catch(() => undefined);
      await bus.close();
    },
  };
}

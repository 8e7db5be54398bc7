/**
 * Prometheus metrics (`GET /metrics`, DESIGN.md §7). Every series is
 * prefixed `switchyard_`. Each server process has its own registry: what it
 * counts (dispatches, stored events, finished runs) and what it holds (its
 * runtimes and dashboards) are its own, so a fleet's totals are sums over
 * the servers. Queue depth is read from the database on each scrape and is
 * therefore the same on every server (aggregate it with max, not sum).
 *
 * The hot paths (dispatcher, event ingest) only call the small methods
 * below; nothing is computed at scrape time except the one grouped query.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AuthError, coerceError } from '../core/errors.js';
import type { HealthFrame } from '../core/protocol.js';
import { efSearchFor } from '../skills/searchEffort.js';
import type { Db } from '../store/db.js';
import { modelSearchStates } from '../store/skills.js';
import { bearer } from './auth.js';

const P = 'switchyard_';

/** States a queue-depth series is reported for, zero included (so a drained queue reads 0, not "no data"). */
const OPEN_STATES = ['queued', 'claimed', 'executing', 'blocked', 'retrying'] as const;
/** The scrape's query gets this long; a slower database reports `database_up 0` instead of holding the scraper. */
const SCRAPE_QUERY_MS = 2_000;

export interface RunEnd {
  agent: string;
  /** The state the run left the task in: completed, failed, blocked or cancelled. */
  outcome: string;
  failureClass?: string | null;
  usage?: { inputTokens: number; outputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number } | null;
  costUsd?: number | null;
}

export interface DaemonRef {
  id: string;
  name: string;
}

export interface MetricsDeps {
  db: Db;
  log: Logger;
  /** Runtimes connected to this process (read at scrape time). */
  daemons: () => { online: number; throttled: number };
  /** Dashboard and `--follow` clients connected to this process. */
  dashboards?: () => number;
}

export interface Metrics {
  readonly registry: Registry;
  /** One claim transaction took `ms`. */
  claimed(ms: number): void;
  /** An assign frame went out `ms` after its task became claimable (queued, or its `run_after` passed). */
  dispatched(ms: number): void;
  /** A frame's events are stored; `at` is the daemon's timestamp of each. */
  eventsStored(workspaceId: string, events: readonly { at: string }[]): void;
  runEnded(run: RunEnd): void;
  daemonHealth(daemon: DaemonRef, health: HealthFrame): void;
  /** The runtime left this process: its series go with it. */
  daemonGone(daemon: DaemonRef): void;
  /** The exposition text: this server's series, then the process's. */
  render(): Promise<{ contentType: string; body: string }>;
}

// Node's own metrics (CPU, heap, event loop lag, GC) describe the process,
// not one server in it: collected once per process, whatever number of
// servers it runs (tests run several).
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: P });
  }
  return processRegistry;
}

export function createMetrics(deps: MetricsDeps): Metrics {
  const { db, log } = deps;
  const registry = new Registry();
  const opts = { registers: [registry] };

  const databaseUp = new Gauge({ ...opts, name: `${P}database_up`, help: 'Whether this scrape could query the database (1) or not (0).' });
  const queueDepthGauge = new Gauge({
    ...opts,
    name: `${P}queue_depth`,
    help: 'Open tasks by workspace and state (retrying = failed, automatic retry scheduled). The same on every server.',
    labelNames: ['workspace', 'state'],
  });
  /** Runs before each exposition (not as collect callbacks, so database_up and queue_depth come from the same query). */
  async function readQueueDepth(): Promise<void> {
    queueDepthGauge.reset();
    try {
      const rows = await withTimeout(queueDepth(db), SCRAPE_QUERY_MS, 'the queue-depth query');
      const byWorkspace = new Map<string, Map<string, number>>();
      for (const r of rows) {
        const m = byWorkspace.get(r.workspace) ?? new Map<string, number>();
        byWorkspace.set(r.workspace, m);
        if (r.state) m.set(r.state, r.n);
      }
      for (const [workspace, m] of byWorkspace) for (const state of OPEN_STATES) queueDepthGauge.set({ workspace, state }, m.get(state) ?? 0);
      databaseUp.set(1);
    } catch (err) {
      databaseUp.set(0);
      log.warn({ err: coerceError(err) }, 'metrics: queue depth unavailable');
    }
  }

  const skillEffort = new Gauge({
    ...opts,
    name: `${P}skill_search_ef`,
    help: "The HNSW search effort (hnsw.ef_search) a model's skill searches use: measured on the queries it served, or from its graph's size until then.",
    labelNames: ['model'],
  });
  const skillRecall = new Gauge({
    ...opts,
    name: `${P}skill_search_calibrated_recall`,
    help: "Recall@3 against an exact scan that the model's measured effort reached on its sample queries (no series before a measurement).",
    labelNames: ['model'],
  });
  const skillGraph = new Gauge({ ...opts, name: `${P}skill_graph_vectors`, help: "Vectors in a model's HNSW graph, as the planner estimates them.", labelNames: ['model'] });
  async function readSkillSearch(): Promise<void> {
    for (const g of [skillEffort, skillRecall, skillGraph]) g.reset();
    try {
      const states = await withTimeout(modelSearchStates(db), SCRAPE_QUERY_MS, 'the skill models query');
      for (const [model, st] of states) {
        skillEffort.set({ model }, efSearchFor(st.graphSize, st.calibration));
        skillGraph.set({ model }, st.graphSize);
        if (st.calibration) skillRecall.set({ model }, st.calibration.recall);
      }
    } catch (err) {
      log.warn({ err: coerceError(err) }, 'metrics: skill search state unavailable');
    }
  }

  const claimDuration = new Histogram({
    ...opts,
    name: `${P}claim_duration_seconds`,
    help: 'Duration of one claim transaction of the dispatcher (including claims that found nothing).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  const dispatchLatency = new Histogram({
    ...opts,
    name: `${P}dispatch_latency_seconds`,
    help: 'From a task becoming claimable (queued, or its run_after passed) to its assign frame going out; includes waiting for a free runtime.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  });
  const eventsStored = new Counter({ ...opts, name: `${P}events_stored_total`, help: 'Agent output events stored by this server.', labelNames: ['workspace'] });
  const streamLag = new Histogram({
    ...opts,
    name: `${P}stream_lag_seconds`,
    help: "From an event's timestamp on its runtime to its storage by this server (includes clock skew between the machines).",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const runs = new Counter({ ...opts, name: `${P}runs_total`, help: 'Finished runs by agent, outcome and failure class (none unless failed or cancelled).', labelNames: ['agent', 'outcome', 'failure_class'] });
  const tokens = new Counter({ ...opts, name: `${P}agent_tokens_total`, help: 'Tokens reported by finished runs, by agent and kind (input, output, cache_read, cache_write).', labelNames: ['agent', 'kind'] });
  const cost = new Counter({ ...opts, name: `${P}agent_cost_usd_total`, help: 'Cost in US dollars reported by finished runs, by agent.', labelNames: ['agent'] });

  new Gauge({
    ...opts,
    name: `${P}daemons_online`,
    help: 'Runtimes connected to this server.',
    collect() {
      this.set(deps.daemons().online);
    },
  });
  new Gauge({
    ...opts,
    name: `${P}daemons_throttled`,
    help: 'Runtimes connected to this server that take no new work (over their CPU or memory threshold).',
    collect() {
      this.set(deps.daemons().throttled);
    },
  });
  if (deps.dashboards) {
    const count = deps.dashboards;
    new Gauge({
      ...opts,
      name: `${P}stream_clients`,
      help: 'Dashboard and follow clients connected to this server.',
      collect() {
        this.set(count());
      },
    });
  }

  const daemonLabels = ['daemon_id', 'daemon_name'] as const;
  const daemonCpu = new Gauge({ ...opts, name: `${P}daemon_cpu_ratio`, help: "A runtime's machine CPU busy fraction over its last health interval (0–1, all cores).", labelNames: daemonLabels });
  const daemonMem = new Gauge({ ...opts, name: `${P}daemon_memory_used_bytes`, help: "Memory in use on a runtime's machine.", labelNames: daemonLabels });
  const daemonAgentsRss = new Gauge({ ...opts, name: `${P}daemon_agents_rss_bytes`, help: "Resident memory of a runtime's agent process groups.", labelNames: daemonLabels });
  const daemonActive = new Gauge({ ...opts, name: `${P}daemon_active_runs`, help: 'Runs a runtime reports active.', labelNames: daemonLabels });
  const daemonThrottled = new Gauge({ ...opts, name: `${P}daemon_throttled`, help: 'Whether a runtime is throttled (1) or not (0).', labelNames: daemonLabels });
  const perDaemon = [daemonCpu, daemonMem, daemonAgentsRss, daemonActive, daemonThrottled];
  // The labels each runtime's series carry, so they can be removed when it leaves (or renames itself).
  const shown = new Map<string, { daemon_id: string; daemon_name: string }>();
  const MB = 1024 * 1024;

  return {
    registry,
    claimed(ms) {
      claimDuration.observe(ms / 1000);
    },
    dispatched(ms) {
      dispatchLatency.observe(Math.max(0, ms) / 1000);
    },
    eventsStored(workspaceId, events) {
      eventsStored.inc({ workspace: workspaceId }, events.length);
      const now = Date.now();
      for (const e of events) {
        const at = Date.parse(e.at);
        if (Number.isFinite(at)) streamLag.observe(Math.max(0, now - at) / 1000);
      }
    },
    runEnded(r) {
      const failureClass = r.outcome === 'failed' ? (r.failureClass ?? 'agent_error') : r.outcome === 'cancelled' ? 'cancelled' : 'none';
      runs.inc({ agent: r.agent, outcome: r.outcome, failure_class: failureClass });
      const u = r.usage;
      if (u) {
        const kinds: [string, number | undefined][] = [
          ['input', u.inputTokens],
          ['output', u.outputTokens],
          ['cache_read', u.cacheReadTokens],
          ['cache_write', u.cacheWriteTokens],
        ];
        for (const [kind, n] of kinds) if (n && n > 0) tokens.inc({ agent: r.agent, kind }, n);
      }
      if (r.costUsd && r.costUsd > 0) cost.inc({ agent: r.agent }, r.costUsd);
    },
    daemonHealth(d, h) {
      const labels = { daemon_id: d.id, daemon_name: d.name };
      const before = shown.get(d.id);
      if (before && before.daemon_name !== d.name) for (const g of perDaemon) g.remove(before);
      shown.set(d.id, labels);
      daemonCpu.set(labels, h.cpu);
      daemonMem.set(labels, h.memUsedMb * MB);
      daemonAgentsRss.set(labels, h.agentsRssMb * MB);
      daemonActive.set(labels, h.active);
      daemonThrottled.set(labels, h.throttled ? 1 : 0);
    },
    daemonGone(d) {
      const labels = shown.get(d.id);
      if (!labels) return;
      shown.delete(d.id);
      for (const g of perDaemon) g.remove(labels);
    },
    async render() {
      await readQueueDepth();
      await readSkillSearch();
      const body = (await registry.metrics()) + (await processMetrics().metrics());
      return { contentType: registry.contentType, body };
    },
  };
}

/**
 * Open tasks per workspace and state in one grouped query. Every workspace
 * appears (a LEFT JOIN row with a null state when it has none open). The
 * partial index tasks_open (migration 0006) holds exactly these rows, and
 * counting an indexed column lets PostgreSQL answer from the index alone:
 * 1.4 ms with 3,000 open tasks among 1,000,000, against 230 ms scanning the
 * table (PostgreSQL 15, 2 cores).
 */
async function queueDepth(db: Db): Promise<{ workspace: string; state: string | null; n: number }[]> {
  const { rows } = await db.query<{ workspace: string; state: string | null; n: number }>(
    `SELECT w.id AS workspace,
            CASE WHEN t.status = 'failed' THEN 'retrying' ELSE t.status END AS state,
            count(t.workspace_id)::integer AS n
     FROM workspaces w
     LEFT JOIN tasks t ON t.workspace_id = w.id
       AND (t.status IN ('queued', 'claimed', 'executing', 'blocked') OR (t.status = 'failed' AND t.run_after IS NOT NULL))
     GROUP BY 1, 2`,
  );
  return rows;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `GET /metrics`. Open by default, like /healthz (scrapers usually sit in
 * the same private network); with `orchestrator.runtime.metrics_token` set,
 * the scraper must send it as a bearer token.
 */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  const expected = token ? Buffer.from(token) : undefined;
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (expected) {
      const given = Buffer.from(bearer(req) ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        void reply.header('www-authenticate', 'Bearer realm="metrics"');
        throw new AuthError('send the metrics token (orchestrator.runtime.metrics_token): Authorization: Bearer <token>');
      }
    }
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}

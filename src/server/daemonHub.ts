/**
 * The runtimes connected to this server: one WebSocket each, speaking the
 * protocol of src/core/protocol.ts. Frames of one connection are handled one
 * after another, in arrival order, so "events before finished" and "ack up
 * to seq N" hold without further bookkeeping.
 */
import type { Logger } from 'pino';
import type { WebSocket, RawData } from 'ws';
import type { Orchestrator } from '../core/config/index.js';
import { runLeaseMs } from '../core/runLease.js';
import { coerceError } from '../core/errors.js';
import {
  daemonFrame,
  PROTOCOL_VERSION,
  type AckFrame,
  type AssignFrame,
  type DaemonFrame,
  type EventsFrame,
  type ServerFrame,
} from '../core/protocol.js';
import { retryPolicyFrom } from '../core/retryPolicy.js';
import type { Task } from '../core/api.js';
import { refreshQueueReasons, type ClaimedTask } from '../store/claim.js';
import type { Db } from '../store/db.js';
import { markDaemonOffline, recordHealth, replaceDaemonAgents, touchDaemon, upsertDaemon, type AgentCheck } from '../store/daemons.js';
import { createToken } from '../store/tokens.js';
import type { Principal } from './auth.js';
import type { Bus } from './bus.js';
import { reconcileOnHello } from './reconcile.js';
import { recordFinished, recordStarted, releaseClaim } from './runReports.js';
import type { EventWriter } from './eventWriter.js';
import type { Metrics } from './metrics.js';
import type { StreamHub } from './streamHub.js';

export interface ActiveRun {
  attempt: number;
  workspaceId: string;
}

export interface DaemonConn {
  readonly id: string;
  readonly name: string;
  readonly capacity: number;
  readonly workspaces: string[] | null;
  agents: AgentCheck[];
  throttled: boolean;
  readonly active: Map<string, ActiveRun>;
  send(frame: ServerFrame): void;
}

export interface DaemonHubDeps {
  db: Db;
  bus: Bus;
  config: Orchestrator;
  log: Logger;
  serverId: string;
  version: string;
  streams: StreamHub;
  writer: EventWriter;
  publicUrl: () => string;
  metrics?: Metrics;
}

export type DaemonHub = ReturnType<typeof createDaemonHub>;

/** What the handler sees: batches are split into their runs' events frames on arrival. */
type RunOrConnectionFrame = Exclude<DaemonFrame, { type: 'batch' }>;

export function createDaemonHub(deps: DaemonHubDeps) {
  const { db, bus, config, log, serverId } = deps;
  const conns = new Map<string, DaemonConn & { ws: WebSocket }>();
  // Told of every run that completed its task (the skill library indexes it); never awaited.
  const completedListeners: ((task: Task) => void)[] = [];
  const heartbeatMs = config.streaming.heartbeat_interval;
  const maxMessage = config.streaming.max_message_size;
  const execLeaseMs = runLeaseMs(config);

  const backoff = { baseMs: config.runtime.retry_backoff_base, capMs: config.runtime.retry_backoff_cap };
  const policy = retryPolicyFrom(config.retry);
  const okAgents = (c: DaemonConn) => c.agents.filter((a) => a.status === 'ok').map((a) => a.name);

  bus.subscribe('cancel', (p) => {
    const c = conns.get(String(p.daemonId));
    if (!c) return;
    log.info({ taskId: String(p.taskId), daemonId: c.id, attempt: Number(p.attempt) }, 'cancel sent to runtime');
    c.send({ type: 'cancel', taskId: String(p.taskId), attempt: Number(p.attempt), reason: String(p.reason ?? 'cancelled') });
  });

  // Cancels requested on other servers while this one's LISTEN was down were missed: send them again.
  bus.subscribe('resync', () => {
    if (conns.size === 0) return;
    db.query<{ id: string; attempt: number; daemon_id: string; status_reason: string | null }>(
      `SELECT id, attempt, daemon_id, status_reason FROM tasks WHERE status = 'executing' AND cancel_requested_at IS NOT NULL AND daemon_id = ANY ($1::uuid[])`,
      [[...conns.keys()]],
    )
      .then(({ rows }) => {
        for (const r of rows) conns.get(r.daemon_id)?.send({ type: 'cancel', taskId: r.id, attempt: r.attempt, reason: r.status_reason ?? 'cancelled' });
      })
      .catch((err: unknown) => log.warn({ err: coerceError(err) }, 'resending pending cancels failed'));
  });

  function sendRaw(ws: WebSocket, frame: ServerFrame): void {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify(frame), (err) => {
      if (err) log.debug({ err }, 'send to runtime failed');
    });
  }

  /** Serves one runtime's socket, authenticated with a daemon token, until it closes. */
  function accept(ws: WebSocket, principal: Principal, remote: string): void {
    let conn: (DaemonConn & { ws: WebSocket }) | undefined;
    // Frames about the connection (hello, health, agents) are handled in order;
    // frames about a run in order per run, each after the connection frames
    // received before it. Runs proceed side by side, so their transactions
    // overlap on the pool: one queue per connection held a busy runtime to
    // about 60 runs a second (bench/queue.ts).
    let chain: Promise<void> = Promise.resolve();
    const runChains = new Map<string, Promise<void>>();
    const onRunChain = (taskId: string, work: () => Promise<void>) => {
      const next = Promise.all([chain, runChains.get(taskId)]).then(work);
      runChains.set(taskId, next);
      void next.then(() => {
        if (runChains.get(taskId) === next) runChains.delete(taskId);
      });
    };
    // Event batches are not awaited one by one (that would defeat the
    // writer's group commit); every other frame waits until the batches
    // before it are stored, so "events before finished" still holds.
    let writes: Promise<void> = Promise.resolve();
    let alive = true;
    // Bound to the runtime's id and name once it has said hello, so every line about it carries them.
    let clog = log.child({ remote, tokenId: principal.id });

    const error = (code: string, message: string) => sendRaw(ws, { type: 'error', code, message });

    const ping = setInterval(() => {
      if (!alive) {
        clog.warn('runtime missed its heartbeat; closing');
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, heartbeatMs);
    ws.on('pong', () => {
      alive = true;
      if (conn) void touchDaemon(db, conn.id, execLeaseMs).catch((err: unknown) => clog.warn({ err }, 'lease renewal failed'));
    });

    ws.on('message', (data: RawData, isBinary: boolean) => {
      alive = true;
      const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
      if (isBinary) return error('invalid_frame', 'frames are JSON text');
      if (size > maxMessage) return error('message_too_large', `frame of ${size} bytes is over the ${maxMessage}-byte limit (streaming.max_message_size)`);
      let json: unknown;
      try {
        json = JSON.parse(data.toString());
      } catch {
        return error('invalid_json', 'frame is not valid JSON');
      }
      const parsed = daemonFrame.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        clog.warn({ issue }, 'refused an invalid frame');
        return error('invalid_frame', issue ? `${issue.path.join('.') || 'frame'}: ${issue.message}` : 'invalid frame');
      }
      const frame = parsed.data;
      const run = (f: RunOrConnectionFrame) => () =>
        handle(f).catch((err: unknown) => {
          clog.error({ err: coerceError(err), type: f.type, taskId: 'taskId' in f ? f.taskId : undefined }, 'handling a runtime frame failed');
          error('server_error', `could not handle ${f.type}; it will be retried when resent`);
        });
      if (frame.type === 'batch') for (const f of frame.frames) onRunChain(f.taskId, run(f));
      else if ('taskId' in frame) onRunChain(frame.taskId, run(frame));
      else chain = chain.then(run(frame));
    });

    ws.on('close', () => {
      clearInterval(ping);
      if (!conn) return;
      const c = conn;
      if (conns.get(c.id) === c) conns.delete(c.id);
      if (!conns.has(c.id)) deps.metrics?.daemonGone(c);
      clog.info('runtime disconnected');
      // Its runs keep their leases: a quick reconnect resumes them; otherwise the reaper reclaims them.
      void Promise.all([chain, ...runChains.values()])
        .then(async () => {
          if (conns.has(c.id)) return; // already back, possibly on this same server
          await markDaemonOffline(db, c.id, serverId);
          await refreshQueueReasons(db);
          bus.publish('daemon', { id: c.id });
        })
        .catch((err: unknown) => clog.warn({ err }, 'marking runtime offline failed'));
    });
    ws.on('error', (err) => clog.warn({ err }, 'runtime socket error'));

    /** One frame; a batch arrives here as its events frames, each on its run's queue. */
    async function handle(frame: RunOrConnectionFrame): Promise<void> {
      if (frame.type === 'hello') return hello(frame);
      if (!conn) return error('hello_required', 'send hello first');
      const c = conn;
      // Events are not awaited one by one (see `writes`); everything else waits for them.
      if (frame.type !== 'events') await writes;
      switch (frame.type) {
        case 'health': {
          const wasThrottled = c.throttled;
          c.throttled = frame.throttled;
          deps.metrics?.daemonHealth(c, frame);
          await recordHealth(db, c.id, frame, frame.throttled, frame.throttleReason);
          await touchDaemon(db, c.id, execLeaseMs);
          if (wasThrottled !== c.throttled) {
            clog.info({ throttled: c.throttled, reason: frame.throttleReason }, 'runtime throttle changed');
            if (!c.throttled) bus.publish('dispatch', {});
          }
          bus.publish('daemon', { id: c.id });
          return;
        }
        case 'agents':
          c.agents = frame.agents;
          await replaceDaemonAgents(db, c.id, frame.agents);
          await refreshQueueReasons(db);
          bus.publish('daemon', { id: c.id });
          bus.publish('dispatch', {});
          return;
        case 'accept':
          await db.query(
            `UPDATE tasks SET lease_expires_at = now() + make_interval(secs => $4::double precision / 1000)
             WHERE id = $1 AND daemon_id = $2 AND attempt = $3 AND status = 'claimed'`,
            [frame.taskId, c.id, frame.attempt, execLeaseMs],
          );
          return;
        case 'reject': {
          c.active.delete(frame.taskId);
          const task = await db.tx((q) => releaseClaim(q, frame.taskId, c.id, frame.attempt, 'daemon', `runtime ${c.name} refused it: ${frame.reason}`));
          if (task) {
            bus.publish('task', { id: task.id, workspaceId: task.workspaceId, status: task.status });
            // Not at once: the same runtime would be offered it again straight away.
            setTimeout(() => bus.publish('dispatch', {}), 1000).unref();
          }
          return;
        }
        case 'started': {
          const task = await recordStarted({ db, daemonId: c.id, execLeaseMs }, frame);
          if (!task) {
            // A `started` resent from the outbox after a reconnect: the run is
            // already executing here, so this is a duplicate, not a stray run.
            const { rows } = await db.query<{ workspace_id: string }>(
              `SELECT workspace_id FROM tasks WHERE id = $1 AND status = 'executing' AND daemon_id = $2 AND attempt = $3`,
              [frame.taskId, c.id, frame.attempt],
            );
            if (rows[0]) {
              c.active.set(frame.taskId, { attempt: frame.attempt, workspaceId: rows[0].workspace_id });
              return;
            }
            c.active.delete(frame.taskId);
            c.send({ type: 'cancel', taskId: frame.taskId, attempt: frame.attempt, reason: 'the task is no longer assigned to this runtime' });
            return;
          }
          c.active.set(task.id, { attempt: frame.attempt, workspaceId: task.workspaceId });
          bus.publish('task', { id: task.id, workspaceId: task.workspaceId, status: task.status });
          return;
        }
        case 'events':
          return acceptEvents(c, frame);
        case 'finished': {
          const task = await recordFinished({ db, daemonId: c.id, execLeaseMs, backoff, policy }, frame);
          c.active.delete(frame.taskId);
          c.send({ type: 'ack', taskId: frame.taskId, attempt: frame.attempt, seq: frame.lastSeq, finished: true });
          if (task) deps.metrics?.runEnded({ agent: task.assignedAgent, outcome: task.status, failureClass: frame.failureClass, usage: frame.usage, costUsd: frame.costUsd });
          clog.info({ taskId: frame.taskId, attempt: frame.attempt, maxAttempts: task?.maxAttempts, outcome: frame.outcome, failureClass: frame.failureClass }, 'run finished');
          if (task) bus.publish('task', { id: task.id, workspaceId: task.workspaceId, status: task.status });
          if (task?.status === 'completed') {
            for (const l of completedListeners) {
              try {
                l(task);
              } catch (err) {
                clog.error({ err: coerceError(err), taskId: task.id }, 'a completion listener failed');
              }
            }
          }
          bus.publish('dispatch', {});
          return;
        }
      }
    }

    /** Queues a batch for the group writer; its ack and live push follow once it is stored. */
    async function acceptEvents(c: DaemonConn, frame: EventsFrame): Promise<void> {
      const run = await owned(c, frame.taskId, frame.attempt);
      if (!run) {
        c.send({ type: 'discard', taskId: frame.taskId, attempt: frame.attempt, reason: 'this run is no longer the task\'s current attempt on this runtime' });
        return;
      }
      const lastSeq = frame.events[frame.events.length - 1]!.seq;
      const written = deps.writer.write({ taskId: frame.taskId, attempt: frame.attempt, events: frame.events });
      writes = written.then(
        () => {
          queueAck({ taskId: frame.taskId, attempt: frame.attempt, seq: lastSeq, finished: false });
          deps.metrics?.eventsStored(run.workspaceId, frame.events);
          deps.streams.pushEvents(frame.taskId, run.workspaceId, frame.events.map((e) => ({ ...e, attempt: frame.attempt })));
          bus.publish('events', { taskId: frame.taskId, workspaceId: run.workspaceId, lastSeq }, frame.taskId);
        },
        (err: unknown) => {
          // Unacknowledged frames stay in the runtime's outbox; a new
          // connection makes it send them again.
          clog.error({ err: coerceError(err), taskId: frame.taskId }, 'storing events failed; dropping the connection so the runtime resends');
          ws.terminate();
        },
      );
    }

    // Acknowledgements of one turn of the event loop go out as one frame.
    let acks: Omit<AckFrame, 'type'>[] = [];
    function queueAck(a: Omit<AckFrame, 'type'>): void {
      acks.push(a);
      if (acks.length > 1) return;
      setImmediate(() => {
        const out = acks;
        acks = [];
        if (out.length === 1) sendRaw(ws, { type: 'ack', ...out[0]! });
        else if (out.length > 1) sendRaw(ws, { type: 'acks', acks: out });
      });
    }

    async function hello(frame: Extract<DaemonFrame, { type: 'hello' }>): Promise<void> {
      if (conn) return error('protocol', 'hello was already received on this connection');
      if (frame.protocol !== PROTOCOL_VERSION) {
        error('protocol_version', `server speaks protocol ${PROTOCOL_VERSION}, runtime sent ${frame.protocol}; upgrade the older side`);
        ws.close(1002, 'protocol version');
        return;
      }
      const workspacesOfToken = principal.daemonWorkspaces ?? (principal.workspaceId ? [principal.workspaceId] : null);
      // A runtime id is taken over (a reconnect, a rotated token) only by a
      // token that may serve every workspace the runtime served: otherwise
      // one workspace's daemon token, naming another's runtime id, would
      // disconnect it and fail its runs. Found by test/server/fuzz/sockets.test.ts.
      const { rows: prior } = await db.query<{ token_id: string | null; workspaces: string[] | null }>('SELECT token_id, workspaces FROM daemons WHERE id = $1', [frame.daemonId]);
      const before = prior[0];
      if (before && before.token_id !== principal.id && workspacesOfToken !== null && (before.workspaces === null || !before.workspaces.every((w) => workspacesOfToken.includes(w)))) {
        clog.warn({ daemonId: frame.daemonId }, 'refused a hello naming a runtime id of workspaces this token does not serve');
        error('forbidden', 'this runtime id belongs to workspaces your token does not serve; use a new daemon id');
        ws.close(4403, 'runtime id not yours');
        return;
      }
      const previous = conns.get(frame.daemonId);
      if (previous) {
        // The same runtime reconnected before its old socket was noticed dead.
        previous.ws.terminate();
        conns.delete(frame.daemonId);
      }
      const workspaces = workspacesOfToken;
      await upsertDaemon(db, {
        id: frame.daemonId,
        name: frame.name,
        hostname: frame.hostname,
        version: frame.version,
        tokenId: principal.id,
        workspaces,
        capacity: frame.capacity,
        serverId,
      });
      await replaceDaemonAgents(db, frame.daemonId, frame.agents);
      const c: DaemonConn & { ws: WebSocket } = {
        id: frame.daemonId,
        name: frame.name,
        capacity: frame.capacity,
        workspaces,
        agents: frame.agents,
        throttled: false,
        active: new Map(),
        ws,
        send: (f) => sendRaw(ws, f),
      };
      const { keep, cancel, changed, lost } = await reconcileOnHello(db, frame);
      for (const t of lost) deps.metrics?.runEnded({ agent: t.assignedAgent, outcome: 'failed', failureClass: 'runtime_lost' });
      for (const [taskId, run] of keep) c.active.set(taskId, run);
      for (const r of cancel) c.send({ type: 'cancel', taskId: r.taskId, attempt: r.attempt, reason: r.reason });
      for (const t of changed) bus.publish('task', { id: t.id, workspaceId: t.workspaceId, status: t.status });
      conn = c;
      clog = clog.child({ daemonId: c.id, daemonName: c.name });
      conns.set(c.id, c);
      c.send({ type: 'welcome', protocol: PROTOCOL_VERSION, serverVersion: deps.version, heartbeatMs, maxMessageSize: maxMessage });
      clog.info({ capacity: c.capacity, agents: okAgents(c), running: keep.size }, 'runtime connected');
      await refreshQueueReasons(db);
      bus.publish('daemon', { id: c.id });
      bus.publish('dispatch', {});
    }
  }

  /** Whether this runtime still runs this attempt of the task (cached per connection, checked in the database otherwise). */
  async function owned(c: DaemonConn, taskId: string, attempt: number): Promise<ActiveRun | undefined> {
    const cached = c.active.get(taskId);
    if (cached) return cached.attempt === attempt ? cached : undefined;
    const { rows } = await db.query<{ workspace_id: string }>(
      `SELECT workspace_id FROM tasks WHERE id = $1 AND daemon_id = $2 AND attempt = $3 AND status IN ('claimed', 'executing')`,
      [taskId, c.id, attempt],
    );
    const ws = rows[0]?.workspace_id;
    if (!ws) return undefined;
    const run = { attempt, workspaceId: ws };
    c.active.set(taskId, run);
    return run;
  }

  return {
    accept,
    execLeaseMs,
    /** Calls `fn` with each task a run completes (after it is stored). */
    onCompleted(fn: (task: Task) => void): void {
      completedListeners.push(fn);
    },
    /** Runtimes that may take work now, with their free slots. */
    eligible(): { conn: DaemonConn; free: number; agents: string[] }[] {
      const out: { conn: DaemonConn; free: number; agents: string[] }[] = [];
      for (const c of conns.values()) {
        const free = c.capacity - c.active.size;
        const agents = okAgents(c);
        if (c.throttled || free <= 0 || agents.length === 0) continue;
        out.push({ conn: c, free, agents });
      }
      return out;
    },
    assign(c: DaemonConn, claimed: ClaimedTask, frame: Omit<AssignFrame, 'type'>): void {
      c.active.set(claimed.task.id, { attempt: claimed.task.attempt, workspaceId: claimed.task.workspaceId });
      c.send({ type: 'assign', ...frame });
    },
    async taskToken(taskId: string, workspaceId: string): Promise<string> {
      const t = await createToken(db, { role: 'task', name: `task ${taskId}`, workspaceId, taskId, expiresAt: new Date(Date.now() + 7 * 86_400_000) });
      return t.token;
    },
    connected(): number {
      return conns.size;
    },
    /** Runtimes connected to this process, and how many of them are throttled (metrics). */
    stats(): { online: number; throttled: number } {
      let throttled = 0;
      for (const c of conns.values()) if (c.throttled) throttled++;
      return { online: conns.size, throttled };
    },
    close(): void {
      for (const c of conns.values()) c.ws.close(1001, 'server shutting down');
      conns.clear();
    },
  };
}

/**
 * The runtime bridge: finds and checks agent CLIs, connects to a server,
 * runs what it is assigned, and streams every line back — through an
 * on-disk outbox, so nothing is lost across reconnects or restarts.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { getAdapter } from '../agents/registry.js';
import type { Orchestrator } from '../core/config/index.js';
import { runLeaseMs } from '../core/runLease.js';
import { PROTOCOL_VERSION, type AgentCheckFrame, type AssignFrame, type ServerFrame, type WireEvent } from '../core/protocol.js';
import { throttleReason } from '../core/scheduling.js';
import { ServerConnection } from './connection.js';
import { checkAgent, resolveAgents, type AgentEntry } from './detect.js';
import { createHealthSampler } from './health.js';
import { Outbox, type OutboxFrame } from './outbox.js';
import { Run } from './runner.js';
import { daemonId, GroupLedger } from './state.js';
import { pruneWorktrees } from './worktree.js';

export interface DaemonOptions {
  url: string;
  token: string;
  config: Orchestrator;
  stateDir: string;
  log: Logger;
  version: string;
  name?: string;
}

export interface DaemonHandle {
  id: string;
  agents(): AgentCheckFrame[];
  activeRuns(): number;
  connected(): boolean;
  stop(): Promise<void>;
}

export async function checkAgents(config: Orchestrator): Promise<{ entry: AgentEntry; check: AgentCheckFrame }[]> {
  const entries = resolveAgents(config.agents);
  return Promise.all(entries.map(async (entry) => ({ entry, check: await checkAgent(entry) })));
}

export async function startDaemon(o: DaemonOptions): Promise<DaemonHandle> {
  const { config, log: baseLog } = o;
  const id = daemonId(o.stateDir);
  const log = baseLog.child({ daemonId: id });
  const name = o.name ?? hostname();
  const capacity = config.runtime.max_concurrent;
  const maxMessage = config.streaming.max_message_size;
  const ledger = new GroupLedger(o.stateDir, config.runtime.kill_grace);
  const reaped = ledger.open();
  if (reaped > 0) log.warn({ groups: reaped }, 'stopped agent process groups left by a previous daemon process');

  const outbox = new Outbox(join(o.stateDir, 'outbox'));
  for (const left of outbox.load()) {
    if (left.finished) continue;
    // Its process died with the previous daemon: report the run as lost (retryable).
    outbox.append({
      type: 'finished',
      taskId: left.taskId,
      attempt: left.attempt,
      outcome: 'failed',
      lastSeq: left.lastSeq,
      exitCode: null,
      signal: null,
      failureClass: 'runtime_lost',
      reason: 'the daemon restarted during the run',
      stderrTail: null,
      usage: null,
      costUsd: null,
      sessionId: null,
      agentVersion: null,
      model: null,
      resultText: null,
      question: null,
      endedAt: new Date().toISOString(),
    });
  }

  let checks = await checkAgents(config);
  for (const { check } of checks) {
    const level = check.status === 'ok' ? 'info' : 'warn';
    log[level]({ agent: check.name, status: check.status, binary: check.binary, version: check.version, reason: check.reason }, `agent ${check.name}: ${check.status}`);
  }
  const agentFrames = () => checks.map((c) => c.check);

  const runs = new Map<string, Run>();
  const pending = new Map<string, { attempt: number; events: WireEvent[]; bytes: number }>();
  let flushTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let throttled: string | null = null;

  const record = (frame: OutboxFrame) => {
    outbox.append(frame);
    conn.send(frame);
  };

  /** Sends frames, packing event batches of several runs into `batch` frames under the size cap. */
  const sendAll = (frames: OutboxFrame[]) => {
    let batch: OutboxFrame[] = [];
    let size = 0;
    const out = () => {
      if (batch.length === 1) conn.send(batch[0]!);
      else if (batch.length > 1) conn.send({ type: 'batch', frames: batch });
      batch = [];
      size = 0;
    };
    for (const f of frames) {
      if (f.type !== 'events') {
        out();
        conn.send(f);
        continue;
      }
      const n = JSON.stringify(f).length;
      if (size + n > maxMessage / 2 || batch.length >= 1000) out();
      batch.push(f);
      size += n;
    }
    out();
  };

  const flush = (taskId?: string) => {
    if (flushTimer && taskId === undefined) {
      clearTimeout(flushTimer);
      flushTimer = undefined;
    }
    const frames: OutboxFrame[] = [];
    for (const [tid, p] of pending) {
      if (taskId !== undefined && tid !== taskId) continue;
      if (p.events.length > 0) frames.push({ type: 'events', taskId: tid, attempt: p.attempt, events: p.events });
      pending.delete(tid);
    }
    for (const f of frames) outbox.append(f);
    sendAll(frames);
  };

  const queueEvents = (run: Run, events: WireEvent[]) => {
    let p = pending.get(run.taskId);
    if (!p) {
      p = { attempt: run.attempt, events: [], bytes: 0 };
      pending.set(run.taskId, p);
    }
    for (const e of events) {
      const size = e.raw.length + (e.text?.length ?? 0) + (e.data ? JSON.stringify(e.data).length : 0) + 120;
      // Keep every frame well under the server's message cap.
      if (p.bytes + size > maxMessage / 2 && p.events.length > 0) {
        record({ type: 'events', taskId: run.taskId, attempt: run.attempt, events: p.events });
        p.events = [];
        p.bytes = 0;
      }
      p.events.push(e);
      p.bytes += size;
    }
    if (p.events.length >= config.streaming.batch_max_events) flush(run.taskId);
    else flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      flush();
    }, config.streaming.batch_interval);
  };

  const reject = (a: AssignFrame, reason: string) => {
    log.warn({ taskId: a.taskId, reason }, 'refused an assignment');
    conn.send({ type: 'reject', taskId: a.taskId, attempt: a.attempt, reason });
  };

  const onAssign = (a: AssignFrame) => {
    if (stopping) return reject(a, 'the runtime is shutting down');
    if (runs.has(a.taskId)) return reject(a, 'this task is already running here');
    if (runs.size >= capacity) return reject(a, `no free slot (${capacity} in use)`);
    const found = checks.find((c) => c.check.name === a.agent);
    if (!found || found.check.status !== 'ok' || !found.entry.binary) {
      return reject(a, `agent ${a.agent} is not available here${found?.check.reason ? `: ${found.check.reason}` : ''}`);
    }
    conn.send({ type: 'accept', taskId: a.taskId, attempt: a.attempt });
    const adapter = getAdapter(a.agent, found.entry.config);
    const agentConfig = found.entry.config;
    const rlog = log.child({ taskId: a.taskId, attempt: a.attempt, workspaceId: a.workspaceId, agent: a.agent });
    const run: Run = new Run({
      assign: a,
      adapter,
      binary: found.entry.binary,
      ...(found.entry.container ? { container: found.entry.container } : {}),
      agentConfig,
      agentVersion: found.check.version,
      stateDir: o.stateDir,
      daemonId: id,
      log: rlog,
      limits: {
        idleMs: agentConfig?.idle_timeout ?? config.runtime.idle_timeout,
        wallMs: agentConfig?.wall_timeout ?? config.runtime.wall_timeout,
        finalGraceMs: config.runtime.final_grace,
        killGraceMs: config.runtime.kill_grace,
        maxLineChars: Math.max(1024, Math.floor(maxMessage / 4)),
      },
      hooks: {
        started: (info) =>
          record({ type: 'started', taskId: a.taskId, attempt: a.attempt, pid: info.pid, agentVersion: info.agentVersion, model: info.model, startedAt: new Date().toISOString(), ...(info.note ? { note: info.note } : {}) }),
        events: (events) => queueEvents(run, events),
        finished: (report) => {
          flush(a.taskId);
          record({ type: 'finished', taskId: a.taskId, attempt: a.attempt, ...report });
        },
        groupStarted: (pgid) => ledger.add(pgid),
        groupEnded: (pgid) => ledger.remove(pgid),
      },
    });
    runs.set(a.taskId, run);
    void run.done.then(() => {
      if (runs.get(a.taskId) === run) runs.delete(a.taskId);
      healthSoon();
    });
    run.start();
  };

  const onFrame = (f: ServerFrame) => {
    switch (f.type) {
      case 'welcome':
        conn.setHeartbeat(f.heartbeatMs);
        return;
      case 'assign':
        return onAssign(f);
      case 'cancel': {
        const run = runs.get(f.taskId);
        if (run && run.attempt === f.attempt) {
          log.info({ taskId: f.taskId, reason: f.reason }, 'cancelling run');
          run.cancel(f.reason);
        }
        return;
      }
      case 'ack':
        outbox.ack(f.taskId, f.attempt, f.seq, f.finished);
        return;
      case 'acks':
        for (const a of f.acks) outbox.ack(a.taskId, a.attempt, a.seq, a.finished);
        return;
      case 'discard': {
        log.warn({ taskId: f.taskId, attempt: f.attempt, reason: f.reason }, 'server discarded a run');
        outbox.drop(f.taskId, f.attempt);
        const run = runs.get(f.taskId);
        if (run && run.attempt === f.attempt) run.discard();
        return;
      }
      case 'error':
        log.warn({ code: f.code, message: f.message }, 'server reported an error');
        return;
    }
  };

  const conn = new ServerConnection({
    url: o.url,
    token: o.token,
    log,
    maxMessageSize: maxMessage,
    compression: config.streaming.compression,
    heartbeatMs: config.streaming.heartbeat_interval,
    onFrame,
    onClose: () => undefined,
    onOpen: () => {
      const running = [...runs.values()].map((r) => ({ taskId: r.taskId, attempt: r.attempt }));
      const live = new Set(running.map((r) => `${r.taskId}.${r.attempt}`));
      conn.send({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        daemonId: id,
        name,
        hostname: hostname(),
        version: o.version,
        capacity,
        agents: agentFrames(),
        running,
        pending: outbox.runsPending().filter((r) => !live.has(`${r.taskId}.${r.attempt}`)),
      });
      // Everything not yet acknowledged, in order; the server ignores what it already has.
      sendAll(outbox.pending());
      void sendHealth();
    },
  });

  const sample = createHealthSampler();
  const sendHealth = async () => {
    const groups = [...runs.values()].map((r) => r.processGroup).filter((g): g is number => g !== undefined);
    const h = await sample(groups);
    const reason = throttleReason({ cpu: h.cpu, memMb: h.runtimeMb }, { cpuThreshold: config.runtime.cpu_threshold, memoryThresholdMb: config.runtime.memory_threshold_mb });
    if (reason !== throttled) log[reason ? 'warn' : 'info']({ reason }, reason ? 'throttled: taking no new work' : 'no longer throttled');
    throttled = reason;
    conn.send({ type: 'health', cpu: h.cpu, memUsedMb: h.memUsedMb, memTotalMb: h.memTotalMb, agentsRssMb: h.agentsRssMb, active: runs.size, throttled: reason !== null, throttleReason: reason });
  };
  // After a run ends the dashboard's figures should move soon, but a sample
  // runs `ps` (a process spawn): runs ending together share one report.
  let healthQueued = false;
  const healthSoon = () => {
    if (healthQueued) return;
    healthQueued = true;
    setTimeout(() => {
      healthQueued = false;
      void sendHealth().catch((err: unknown) => log.warn({ err }, 'health check failed'));
    }, 250).unref();
  };
  const healthTimer = setInterval(() => void sendHealth().catch((err: unknown) => log.warn({ err }, 'health check failed')), config.runtime.health_check_interval);
  const agentTimer = setInterval(() => {
    void checkAgents(config).then((next) => {
      const changed = JSON.stringify(next.map((c) => c.check)) !== JSON.stringify(checks.map((c) => c.check));
      checks = next;
      if (changed) {
        log.info({ agents: next.map((c) => `${c.check.name}:${c.check.status}`) }, 'agent checks changed');
        conn.send({ type: 'agents', agents: agentFrames() });
      }
    });
  }, config.runtime.agent_check_interval);

  // Cut off from the server for about as long as the server's lease of our
  // runs (runLeaseMs, the rule the server applies), the runs are
  // as good as lost: the reaper gives them to other runtimes. Stop them before
  // that (kill_grace plus a margin early), so no retry overlaps a run still
  // going here (chaos suite: runs of a server's daemons outlived a restart of
  // that server). They end as runtime_lost, reported once connected again.
  const fenceMs = runLeaseMs(config) - config.runtime.kill_grace - 500;
  let fenced = false;
  const fenceTimer = setInterval(() => {
    if (conn.open) {
      fenced = false;
      return;
    }
    if (fenced || runs.size === 0 || Date.now() - conn.lastHeardAt < fenceMs) return;
    fenced = true;
    log.warn({ runs: runs.size, silentMs: Date.now() - conn.lastHeardAt }, 'cut off from the server for about the lease: stopping runs it will give to others');
    for (const r of runs.values()) r.interrupt('cut off from the server for longer than the lease');
  }, 250);
  fenceTimer.unref();

  const prune = () =>
    void pruneWorktrees(o.stateDir, config.runtime.worktree_retention)
      .then((removed) => removed.length > 0 && log.info({ removed }, 'removed old task worktrees'))
      .catch((err: unknown) => log.warn({ err }, 'pruning worktrees failed'));
  prune();
  const pruneTimer = setInterval(prune, 3_600_000);
  pruneTimer.unref();

  conn.start();

  return {
    id,
    agents: agentFrames,
    activeRuns: () => runs.size,
    connected: () => conn.open,
    async stop() {
      stopping = true;
      clearInterval(healthTimer);
      clearInterval(agentTimer);
      clearInterval(pruneTimer);
      clearInterval(fenceTimer);
      // Runs end as lost (retryable elsewhere); their reports stay in the outbox if unsent.
      for (const r of runs.values()) r.interrupt('the runtime was stopped');
      // The timer is cleared once the runs are done: left pending, it kept the process alive for the whole grace after a stop.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([...runs.values()].map((r) => r.done)), new Promise((r) => (grace = setTimeout(r, config.runtime.kill_grace + 3_000)))]);
      clearTimeout(grace);
      flush();
      await new Promise((r) => setTimeout(r, 50));
      await conn.close();
      outbox.close();
      ledger.close();
    },
  };
}

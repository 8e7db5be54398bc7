/**
 * One run of one agent: prepare its working directory, spawn the CLI in its
 * own process group with an argument array and a scrubbed environment, turn
 * its output into sequenced events, watch it (idle, wall clock, token budget,
 * lingering after its final event), and report how it ended. The process
 * group is stopped on every path out of a run (see `finish`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { AgentAdapter, ExitInfo, NormalizedEvent } from '../agents/types.js';
import type { AgentConfigFile } from '../core/config/index.js';
import type { AssignFrame, FinishedFrame, WireEvent } from '../core/protocol.js';
import { isKnownAgent } from '../agents/registry.js';
import { classifyFailure } from '../core/failures.js';
import type { ContainerSpec } from './container.js';
import { planLaunch } from './launch.js';
import { LineSplitter } from './lines.js';
import { stopGroup } from './processGroup.js';
import { summarizeWorktree, type DiffSummary, type Worktree } from './worktree.js';

export interface RunLimits {
  idleMs: number;
  wallMs: number;
  finalGraceMs: number;
  killGraceMs: number;
  maxLineChars: number;
}

export interface RunHooks {
  started(info: { pid: number | null; agentVersion: string | null; model: string | null; note?: string }): void;
  events(events: WireEvent[]): void;
  finished(report: Omit<FinishedFrame, 'type' | 'taskId' | 'attempt'>): void;
  groupStarted(pgid: number): void;
  groupEnded(pgid: number): void;
}

export interface RunSetup {
  assign: AssignFrame;
  adapter: AgentAdapter;
  /** The binary on the host, or the command inside the container. */
  binary: string;
  container?: ContainerSpec;
  agentConfig: AgentConfigFile | undefined;
  agentVersion: string | null;
  stateDir: string;
  daemonId: string;
  limits: RunLimits;
  hooks: RunHooks;
  log: Logger;
}

type StopReason = { kind: 'cancel'; reason: string } | { kind: 'watchdog'; failureClass: string; reason: string } | { kind: 'discard' };

const STDERR_TAIL = 8 * 1024;

export class Run {
  readonly taskId: string;
  readonly attempt: number;
  private child: ChildProcess | undefined;
  private pgid: number | undefined;
  private seq: number;
  private stop: StopReason | undefined;
  private stderrTail = '';
  private readonly lastEvents: WireEvent[] = [];
  private timers: NodeJS.Timeout[] = [];
  private worktree: Worktree | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private finalTimer: NodeJS.Timeout | undefined;
  private settled = false;
  private readonly assignedAt = Date.now();
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly parser;

  constructor(private readonly s: RunSetup) {
    this.taskId = s.assign.taskId;
    this.attempt = s.assign.attempt;
    this.seq = s.assign.seqStart;
    this.parser = s.adapter.createParser();
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get processGroup(): number | undefined {
    return this.pgid;
  }

  /** Prepares the working copy, then spawns the agent; failures before the spawn end the run as failed. */
  start(): void {
    void this.launch().catch((err: unknown) => this.fail('agent_error', `could not prepare the run: ${(err as Error).message}`, null));
  }

  private async launch(): Promise<void> {
    const { adapter, limits } = this.s;
    const plan = await planLaunch({
      assign: this.s.assign,
      adapter,
      binary: this.s.binary,
      ...(this.s.container ? { container: this.s.container } : {}),
      agentConfig: this.s.agentConfig,
      stateDir: this.s.stateDir,
      daemonId: this.s.daemonId,
      withPreamble: isKnownAgent(adapter.name),
    });
    // Cancelled while the working copy was being prepared.
    if (this.settled || this.stop) return void this.finish({ code: null, signal: null });
    this.worktree = plan.worktree;
    const model = plan.model;
    let child: ChildProcess;
    try {
      child = spawn(plan.binary, plan.args, {
        cwd: plan.cwd,
        env: plan.env,
        detached: true,
        shell: false,
        stdio: [plan.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      if (plan.stdin !== undefined && child.stdin) {
        child.stdin.on('error', () => undefined); // the agent may exit before reading it all
        child.stdin.end(plan.stdin);
      }
    } catch (err) {
      this.fail('missing_executable', `could not start ${plan.binary}: ${(err as Error).message}`, null);
      return;
    }
    this.child = child;
    child.on('error', (err: NodeJS.ErrnoException) => {
      const cls = err.code === 'ENOENT' || err.code === 'EACCES' ? 'missing_executable' : 'agent_error';
      this.fail(cls, `could not start ${plan.binary}: ${err.message}`, null);
    });
    child.on('spawn', () => {
      this.pgid = child.pid;
      if (child.pid) this.s.hooks.groupStarted(child.pid);
      this.s.hooks.started({ pid: child.pid ?? null, agentVersion: this.s.agentVersion, model: model ?? null, ...(plan.note ? { note: plan.note } : {}) });
      this.s.log.info({ pid: child.pid, binary: plan.binary }, 'agent started');
      // A cancel that arrived between spawn() and now.
      if (this.stop && child.pid) void stopGroup(child.pid, this.s.limits.killGraceMs);
    });
    const out = new LineSplitter(limits.maxLineChars, (line) => this.onLine('stdout', line));
    const err = new LineSplitter(limits.maxLineChars, (line) => this.onLine('stderr', line));
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => {
      this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-STDERR_TAIL);
      err.push(c);
    });
    let exit: ExitInfo | undefined;
    let closed = false;
    const settle = () => {
      if (exit && closed) void this.finish(exit);
    };
    child.stdout!.on('end', () => out.end());
    child.stderr!.on('end', () => err.end());
    child.on('close', () => {
      closed = true;
      settle();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // A grandchild holding stdout open must not keep the run alive: give
      // the pipes a moment to drain, then settle anyway.
      this.timers.push(
        setTimeout(() => {
          closed = true;
          settle();
        }, 500),
      );
      settle();
    });
    this.resetIdle();
    if (limits.wallMs > 0) this.timers.push(setTimeout(() => this.halt({ kind: 'watchdog', failureClass: 'timeout_wall', reason: `ran longer than the wall-clock limit of ${Math.round(limits.wallMs / 1000)} s` }), limits.wallMs));
  }

  /** Stops the run on the user's request; it reports `cancelled` once the group is gone. */
  cancel(reason: string): void {
    this.halt({ kind: 'cancel', reason });
  }

  /** Stops the run because the runtime is going away; it fails as `runtime_lost`, which is retried. */
  interrupt(reason: string): void {
    this.halt({ kind: 'watchdog', failureClass: 'runtime_lost', reason });
  }

  /** Stops the run without reporting (the server no longer wants it). */
  discard(): void {
    this.halt({ kind: 'discard' });
  }

  private halt(reason: StopReason): void {
    if (this.settled) return;
    this.stop ??= reason;
    if (this.pgid !== undefined) void stopGroup(this.pgid, this.s.limits.killGraceMs);
    else if (!this.child) void this.finish({ code: null, signal: null });
  }

  private resetIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.s.limits.idleMs <= 0) return;
    this.idleTimer = setTimeout(
      () => this.halt({ kind: 'watchdog', failureClass: 'timeout_idle', reason: `no output for ${Math.round(this.s.limits.idleMs / 1000)} s` }),
      this.s.limits.idleMs,
    );
  }

  private onLine(stream: 'stdout' | 'stderr', line: string): void {
    if (this.settled) return;
    this.resetIdle();
    let normalized: NormalizedEvent[];
    try {
      normalized = stream === 'stdout' ? this.parser.onStdout(line) : this.parser.onStderr(line);
    } catch {
      // A parser bug must not lose the line.
      normalized = [{ stream, kind: 'raw', raw: line }];
    }
    if (normalized.length === 0) normalized = [{ stream, kind: 'raw', raw: line }];
    const at = new Date().toISOString();
    const events: WireEvent[] = normalized.map((e) => ({
      seq: this.seq++,
      at,
      stream: e.stream,
      kind: e.kind,
      ...(e.text !== undefined ? { text: e.text } : {}),
      ...(e.data !== undefined ? { data: e.data } : {}),
      raw: e.raw,
    }));
    for (const e of events) {
      this.lastEvents.push(e);
      if (this.lastEvents.length > 10) this.lastEvents.shift();
    }
    this.s.hooks.events(events);
    this.checkBudget();
    if (this.parser.facts().sawFinal && !this.finalTimer && this.s.limits.finalGraceMs > 0) {
      // Some CLIs linger after their final event; the outcome is already known.
      this.finalTimer = setTimeout(() => {
        this.s.log.warn('agent still running after its final event; stopping it');
        if (this.pgid !== undefined) void stopGroup(this.pgid, this.s.limits.killGraceMs);
      }, this.s.limits.finalGraceMs);
    }
  }

  private checkBudget(): void {
    const budget = this.s.assign.tokenBudget ?? this.s.agentConfig?.context_limit;
    if (!budget) return;
    const u = this.parser.facts().usage;
    if (!u) return;
    const used = u.inputTokens + u.outputTokens + (u.cacheReadTokens ?? 0) + (u.cacheWriteTokens ?? 0);
    if (used > budget) this.halt({ kind: 'watchdog', failureClass: 'token_budget_exceeded', reason: `used ${used} tokens; the budget is ${budget}` });
  }

  private fail(failureClass: string, reason: string, exit: ExitInfo | null): void {
    this.stop ??= { kind: 'watchdog', failureClass, reason };
    void this.finish(exit ?? { code: null, signal: null });
  }

  private async finish(exit: ExitInfo): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.finalTimer) clearTimeout(this.finalTimer);
    try {
      // Whatever the agent left running in its group goes with it.
      if (this.pgid !== undefined) {
        const gone = await stopGroup(this.pgid, this.s.limits.killGraceMs);
        if (!gone) this.s.log.error({ pgid: this.pgid }, 'process group still has members after SIGKILL');
        this.s.hooks.groupEnded(this.pgid);
      }
      if (this.stop?.kind === 'discard') return;
      const facts = this.parser.facts();
      let diff: DiffSummary | null = null;
      if (this.worktree) {
        diff = await summarizeWorktree(this.worktree, `switchyard: task ${this.taskId}, attempt ${this.attempt}`).catch((err: unknown) => {
          this.s.log.warn({ err }, 'could not summarise the working copy');
          return null;
        });
      }
      const base = {
        lastSeq: this.seq - 1,
        exitCode: exit.code,
        signal: exit.signal,
        stderrTail: this.stderrTail || null,
        lastEvents: this.lastEvents.map((e) => ({ seq: e.seq, stream: e.stream, kind: e.kind, text: e.text ?? e.raw.slice(0, 500) })),
        usage: facts.usage ?? null,
        costUsd: facts.costUsd ?? null,
        sessionId: facts.sessionId ?? null,
        agentVersion: facts.agentVersion ?? this.s.agentVersion,
        model: facts.model ?? this.s.assign.model ?? null,
        resultText: facts.resultText ?? null,
        question: null,
        diff: diff as Record<string, unknown> | null,
        endedAt: new Date().toISOString(),
      };
      if (this.stop?.kind === 'cancel') {
        this.s.hooks.finished({ ...base, outcome: 'cancelled', failureClass: 'cancelled', reason: this.stop.reason });
      } else if (this.stop?.kind === 'watchdog') {
        // The adapter may still know why (e.g. an auth error retried until the idle watchdog fired).
        const o = this.parser.outcome(exit);
        const adapter = o.status === 'failed' ? o : undefined;
        const c = classifyFailure({ decided: this.stop.failureClass === 'timeout_idle' && adapter?.failureClass && adapter.failureClass !== 'agent_error' ? null : this.stop.failureClass, adapterClass: adapter?.failureClass, adapterRetryAt: adapter?.retryAt, reason: this.stop.reason, stderrTail: this.stderrTail, exitCode: exit.code, signal: exit.signal });
        this.s.hooks.finished({ ...base, outcome: 'failed', failureClass: c.failureClass, reason: c.failureClass === this.stop.failureClass ? this.stop.reason : `${adapter?.reason ?? ''} (stopped: ${this.stop.reason})`, retryAt: c.retryAt ?? null });
      } else {
        const o = this.parser.outcome(exit);
        if (o.status === 'completed') {
          this.s.hooks.finished({ ...base, outcome: 'completed', failureClass: null, reason: null, resultText: o.resultText ?? base.resultText });
        } else {
          const c = classifyFailure({ adapterClass: o.failureClass, adapterRetryAt: o.retryAt, reason: o.reason, stderrTail: this.stderrTail, exitCode: exit.code, signal: exit.signal });
          this.s.hooks.finished({ ...base, outcome: 'failed', failureClass: c.failureClass, reason: o.reason, retryAt: c.retryAt ?? null });
        }
      }
      this.s.log.info({ outcome: this.stop?.kind ?? 'exit', code: exit.code, signal: exit.signal, lastSeq: this.seq - 1, durationMs: Date.now() - this.assignedAt }, 'run ended');
    } finally {
      // Resolved on every path, so the daemon always frees the slot.
      this.resolveDone();
    }
  }
}

/**
 * The daemon ↔ server protocol (DESIGN.md §3): JSON frames over one
 * WebSocket, each validated with these schemas on both sides. A frame that
 * does not parse is answered with an `error` frame, never a crash.
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

/**
 * Integers the server stores in int4 columns (attempts, seqs, pids, exit
 * codes): a runtime's value beyond 2^31-1 is refused as an invalid frame
 * instead of failing in the database (a server_error and an error logged for
 * every resend). Found by test/server/fuzz/sockets.test.ts.
 */
const int4 = () => z.number().int().min(-2_147_483_648).max(2_147_483_647);

const taskRef = { taskId: z.string().uuid(), attempt: int4().min(1) };

export const agentCheck = z.object({
  name: z.string().min(1).max(100),
  binary: z.string().max(4096).nullable(),
  version: z.string().max(200).nullable(),
  status: z.enum(['ok', 'missing', 'not_executable', 'version_failed']),
  reason: z.string().max(2000).nullable(),
});
export type AgentCheckFrame = z.infer<typeof agentCheck>;

export const wireEvent = z.object({
  seq: int4().min(1),
  at: z.string().datetime({ offset: true }),
  stream: z.enum(['stdout', 'stderr', 'system']),
  kind: z.enum(['text', 'thinking', 'tool_call', 'tool_result', 'usage', 'error', 'result', 'raw', 'status']),
  text: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  raw: z.string(),
});
export type WireEvent = z.infer<typeof wireEvent>;

export const usage = z.object({
  inputTokens: z.number().nonnegative(),
  outputTokens: z.number().nonnegative(),
  cacheReadTokens: z.number().nonnegative().optional(),
  cacheWriteTokens: z.number().nonnegative().optional(),
});

// ------------------------------------------------------------ daemon → server

export const helloFrame = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  daemonId: z.string().uuid(),
  name: z.string().min(1).max(200),
  hostname: z.string().min(1).max(255),
  version: z.string().min(1).max(100),
  capacity: z.number().int().min(1).max(1000),
  agents: z.array(agentCheck).max(200),
  /** Runs alive in this daemon now. */
  running: z.array(z.object(taskRef)).max(1000),
  /** Runs that ended but whose reports are still in the outbox (they follow). */
  pending: z.array(z.object(taskRef)).max(10_000),
});

/** Health figures are stored as float4 (real): 1e308 failed in the database. Found by test/server/fuzz/sockets.test.ts. */
const gauge = () => z.number().min(0).max(1e12);

export const healthFrame = z.object({
  type: z.literal('health'),
  cpu: gauge(),
  memUsedMb: gauge(),
  memTotalMb: gauge().optional(),
  agentsRssMb: gauge(),
  active: int4().min(0),
  throttled: z.boolean(),
  throttleReason: z.string().max(500).nullable(),
});
export type HealthFrame = z.infer<typeof healthFrame>;

export const agentsFrame = z.object({ type: z.literal('agents'), agents: z.array(agentCheck).max(200) });

export const acceptFrame = z.object({ type: z.literal('accept'), ...taskRef });
export const rejectFrame = z.object({ type: z.literal('reject'), ...taskRef, reason: z.string().max(2000) });

export const startedFrame = z.object({
  type: z.literal('started'),
  ...taskRef,
  pid: int4().nullable(),
  agentVersion: z.string().max(200).nullable(),
  model: z.string().max(200).nullable(),
  startedAt: z.string().datetime({ offset: true }),
  /** Set when the daemon could not resume the requested session and started fresh. */
  note: z.string().max(2000).optional(),
});

export const eventsFrame = z.object({
  type: z.literal('events'),
  ...taskRef,
  events: z.array(wireEvent).min(1).max(10_000),
});

export const finishedFrame = z.object({
  type: z.literal('finished'),
  ...taskRef,
  outcome: z.enum(['completed', 'failed', 'blocked', 'cancelled']),
  /** Highest seq this run produced; the server knows the transcript is complete when it has them all. */
  lastSeq: int4().min(0),
  exitCode: int4().nullable(),
  signal: z.string().max(50).nullable(),
  failureClass: z.string().max(100).nullable(),
  reason: z.string().max(4000).nullable(),
  retryAt: z.string().datetime({ offset: true }).nullable().optional(),
  stderrTail: z.string().max(16_384).nullable(),
  lastEvents: z.array(z.unknown()).max(50).nullable().optional(),
  usage: usage.nullable(),
  costUsd: z.number().nonnegative().nullable(),
  sessionId: z.string().max(500).nullable(),
  agentVersion: z.string().max(200).nullable(),
  model: z.string().max(200).nullable(),
  resultText: z.string().max(1_000_000).nullable(),
  question: z.string().max(100_000).nullable(),
  diff: z.record(z.string(), z.unknown()).nullable().optional(),
  endedAt: z.string().datetime({ offset: true }),
});
export type FinishedFrame = z.infer<typeof finishedFrame>;

export type EventsFrame = z.infer<typeof eventsFrame>;

/**
 * Several runs' event batches in one frame: a daemon with 50 busy agents
 * flushes every few milliseconds, and one frame per flush instead of one per
 * run cuts the per-frame work on both sides by the number of runs.
 */
export const batchFrame = z.object({ type: z.literal('batch'), frames: z.array(eventsFrame).min(1).max(1000) });

export const daemonFrame = z.discriminatedUnion('type', [
  helloFrame,
  batchFrame,
  healthFrame,
  agentsFrame,
  acceptFrame,
  rejectFrame,
  startedFrame,
  eventsFrame,
  finishedFrame,
]);
export type DaemonFrame = z.infer<typeof daemonFrame>;

// ------------------------------------------------------------ server → daemon

export const welcomeFrame = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  serverVersion: z.string(),
  heartbeatMs: z.number().int(),
  maxMessageSize: z.number().int(),
});

export const assignFrame = z.object({
  type: z.literal('assign'),
  ...taskRef,
  workspaceId: z.string(),
  agent: z.string(),
  model: z.string().nullable(),
  prompt: z.string(),
  /** First seq this run uses; earlier attempts used the ones before. */
  seqStart: z.number().int().min(1),
  /** Session of the agent to resume (retries and answers). */
  resumeSessionId: z.string().nullable(),
  /** Daemon that ran the session before, so the daemon can tell whether the session files are local. */
  previousDaemonId: z.string().nullable(),
  answer: z.string().nullable(),
  /** A short summary of how the previous attempt failed (class, reason, last stderr lines) — never its transcript. */
  previousFailure: z.string().max(4000).nullable(),
  repo: z.string().nullable(),
  baseRef: z.string().nullable(),
  tokenBudget: z.number().int().nullable(),
  taskToken: z.string(),
  serverUrl: z.string(),
  suggestions: z.array(z.object({ id: z.string(), name: z.string(), score: z.number(), description: z.string().optional() })),
  /** The workspace's injectSkills: add the suggestions to the agent's prompt as prior solutions. */
  injectSuggestions: z.boolean().optional(),
  metadata: z.record(z.string(), z.unknown()),
});
export type AssignFrame = z.infer<typeof assignFrame>;

export const cancelFrame = z.object({ type: z.literal('cancel'), ...taskRef, reason: z.string() });

export const ackFrame = z.object({
  type: z.literal('ack'),
  ...taskRef,
  /** Every event up to this seq is stored. */
  seq: z.number().int().min(0),
  /** The finished report is stored; the daemon may forget this run. */
  finished: z.boolean(),
});

export type AckFrame = z.infer<typeof ackFrame>;

/** Several acknowledgements at once (the answer to a batch). */
export const acksFrame = z.object({ type: z.literal('acks'), acks: z.array(ackFrame.omit({ type: true })).min(1).max(10_000) });

/** The server will not store this run's output (it no longer owns the task); drop it. */
export const discardFrame = z.object({ type: z.literal('discard'), ...taskRef, reason: z.string() });

export const errorFrame = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
});

export const serverFrame = z.discriminatedUnion('type', [welcomeFrame, assignFrame, cancelFrame, ackFrame, acksFrame, discardFrame, errorFrame]);
export type ServerFrame = z.infer<typeof serverFrame>;

// ------------------------------------------------------ dashboard stream frames

export const streamClientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auth'), token: z.string().min(1).max(500) }),
  z.object({ type: z.literal('subscribe'), workspaceId: z.string().max(100).optional(), taskId: z.string().uuid().optional(), afterSeq: z.number().int().min(0).max(2_147_483_647).optional() }),
  z.object({ type: z.literal('unsubscribe'), workspaceId: z.string().max(100).optional(), taskId: z.string().uuid().optional() }),
  z.object({ type: z.literal('ping') }),
]);
export type StreamClientFrame = z.infer<typeof streamClientFrame>;

/**
 * The configuration file. Its layout is the seed notes' template
 * (`agent-orchestrator.config.yaml`), which must load as printed there: keys
 * are snake_case under `orchestrator:`. Every key has a default, so an empty
 * file (or none) is a valid configuration. Unknown keys are refused, so a typo
 * never passes silently.
 *
 * The schema transforms the YAML into the camelCase `SwitchyardConfig` the
 * rest of the code uses.
 */
import { z } from 'zod';
import { FAILURE_CLASSES } from '../retryPolicy.js';
import { durationMs, sizeBytes } from './units.js';

export const KNOWN_AGENT_NAMES = ['claude-code', 'codex', 'gemini', 'cursor-agent', 'opencode'] as const;

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a slug: lowercase letters, digits and dashes, starting with a letter or digit');

const agentName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected an agent name: letters, digits, dots, dashes, underscores');

const embeddingSchema = z
  .object({
    provider: z.enum(['local', 'hash', 'openai']).default('local'),
    model: z.string().min(1).optional(),
    base_url: z.string().url().optional(),
    api_key: z.string().optional(),
    dims: z.number().int().positive().max(16000).optional(),
    timeout: durationMs.optional(),
    batch_size: z.number().int().positive().max(2048).optional(),
  })
  .strict();

const workspaceSchema = z
  .object({
    id: slug,
    name: z.string().min(1).max(200).optional(),
    max_concurrent: z.number().int().min(1).max(10000).default(4),
    skill_retention_days: z.number().int().min(1).max(36500).default(90),
    audit_enabled: z.boolean().default(false),
    allowed_agents: z.array(agentName).optional(),
    embedding: embeddingSchema.optional(),
    inject_skills: z.boolean().optional(),
    /** Folder for archived skills (gzipped JSON lines); default <data dir>/skill-archive. */
    skill_archive_dir: z.string().min(1).optional(),
  })
  .strict();

const runtimeSchema = z
  .object({
    daemon_port: z.number().int().min(0).max(65535).default(8080),
    host: z.string().min(1).default('127.0.0.1'),
    health_check_interval: durationMs.default(15_000),
    cpu_threshold: z.number().gt(0).max(64).default(0.85),
    memory_threshold_mb: z.number().int().positive().default(4096),
    max_concurrent: z.number().int().min(1).max(1000).default(4),
    state_dir: z.string().min(1).optional(),
    lease: durationMs.default(30_000),
    idle_timeout: durationMs.default(600_000),
    wall_timeout: durationMs.default(3_600_000),
    final_grace: durationMs.default(10_000),
    kill_grace: durationMs.default(5_000),
    agent_check_interval: durationMs.default(300_000),
    max_prompt_size: sizeBytes.default(256 * 1024),
    /** Backoff before an automatic retry: full jitter over base · 2^(attempt-1), at most cap. */
    retry_backoff_base: durationMs.default(5_000),
    retry_backoff_cap: durationMs.default(300_000),
    /** Task worktrees untouched this long are removed (their branches stay in the repository cache). */
    worktree_retention: durationMs.default(7 * 86_400_000),
    /** When set, GET /metrics requires it as a bearer token; unset, /metrics is open like /healthz. */
    metrics_token: z.string().min(16).max(500).optional(),
    /**
     * Behind a reverse proxy or load balancer: trust its X-Forwarded-For /
     * -Proto headers for client addresses (logs, audit). true = any proxy, or a
     * comma-separated list of proxy addresses / CIDRs. Default false.
     */
    trust_proxy: z.union([z.boolean(), z.string().min(1)]).default(false),
  })
  .strict();

const containerSchema = z
  .object({
    engine: z.enum(['docker', 'podman']),
    image: z.string().min(1),
    args: z.array(z.string()).default([]),
  })
  .strict();

const agentSchema = z
  .object({
    name: agentName,
    binary: z.string().min(1).optional(),
    default_model: z.string().min(1).optional(),
    context_limit: z.number().int().positive().optional(),
    args: z.array(z.string()).optional(),
    /** Arguments that make the binary print its version; an empty list skips the check. */
    version_args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).default({}),
    idle_timeout: durationMs.optional(),
    wall_timeout: durationMs.optional(),
    container: containerSchema.optional(),
    container_only: z.boolean().default(false),
  })
  .strict();

const databaseSchema = z
  .object({
    url: z.string().min(1).optional(),
    host: z.string().min(1).default('localhost'),
    port: z.number().int().min(1).max(65535).default(5432),
    name: z.string().min(1).default('switchyard'),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    extensions: z.array(z.string()).default(['vector']),
    pool_size: z.number().int().min(1).max(1000).default(10),
    statement_timeout: durationMs.default(30_000),
  })
  .strict();

const streamingSchema = z
  .object({
    protocol: z.literal('websocket').default('websocket'),
    max_message_size: sizeBytes.default(1024 * 1024),
    heartbeat_interval: durationMs.default(30_000),
    compression: z.boolean().default(true),
    batch_interval: durationMs.default(5),
    batch_max_events: z.number().int().min(1).max(10000).default(500),
  })
  .strict();

/** How long each kind of record is kept (DESIGN.md §7: transcripts 30 days, aggregates a year). */
const retentionSchema = z
  .object({
    /** Agent output (task_events), dropped by whole days. */
    transcripts: durationMs.default(30 * 86_400_000),
    /** Finished tasks with their runs and timelines, after being folded into daily metrics. */
    tasks: durationMs.default(90 * 86_400_000),
    /** Daily aggregates (metrics_daily). */
    metrics: durationMs.default(365 * 86_400_000),
    /** Runtime health samples (sparklines). */
    health: durationMs.default(7 * 86_400_000),
    /**
     * The audit log, dropped by whole months: longer than anything else, since
     * it is the record of who did what (audits often ask for two years).
     */
    audit: durationMs.default(730 * 86_400_000),
    /** How often the maintenance job runs inside the server. */
    interval: durationMs.default(3_600_000),
  })
  .strict();

/** Outgoing webhooks (docs/integrations.md): how deliveries are sent and retried. */
const webhooksSchema = z
  .object({
    /** One attempt's limit, from connecting to the receiver's status line. */
    timeout: durationMs.default(10_000),
    /** Attempts before a delivery is marked failed. */
    max_attempts: z.number().int().min(1).max(50).default(10),
    /** Retry n waits a random time in [½, 1] · min(cap, base · 2^(n−1)). */
    backoff_base: durationMs.default(10_000),
    backoff_cap: durationMs.default(3_600_000),
    /** How often each server looks for due deliveries (events of its own wake it at once). */
    poll_interval: durationMs.default(1_000),
    /** Deliveries one server sends at once. */
    concurrency: z.number().int().min(1).max(256).default(8),
    /** Delivered and failed deliveries are deleted after this long. */
    retention: durationMs.default(30 * 86_400_000),
  })
  .strict();

/** Per failure class: whether a retry may help, and how many attempts at most (overrides the defaults of src/core/retryPolicy.ts). */
const retrySchema = z.partialRecord(
  z.enum(FAILURE_CLASSES),
  z.object({ retryable: z.boolean().optional(), max_attempts: z.number().int().min(1).max(20).optional() }).strict(),
);

/** A section whose keys are all commented out is `null` in YAML: read it as absent (its defaults). */
const orAbsent = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema);

export const configFileSchema = z
  .object({
    orchestrator: orAbsent(z
      .object({
        workspace: orAbsent(workspaceSchema.optional()),
        runtime: orAbsent(runtimeSchema.default(() => runtimeSchema.parse({}))),
        agents: orAbsent(z.array(agentSchema).default([])),
        database: orAbsent(databaseSchema.optional()),
        streaming: orAbsent(streamingSchema.default(() => streamingSchema.parse({}))),
        retry: orAbsent(retrySchema.default({})),
        retention: orAbsent(retentionSchema.default(() => retentionSchema.parse({}))),
        webhooks: orAbsent(webhooksSchema.default(() => webhooksSchema.parse({}))),
      })
      .strict()
      .default(() => ({ runtime: runtimeSchema.parse({}), agents: [], streaming: streamingSchema.parse({}), retry: {}, retention: retentionSchema.parse({}), webhooks: webhooksSchema.parse({}) }))
      // Runs even when other keys are bad (`when`), so one pass reports every
      // problem; the entries may not have parsed, hence the defensive reads.
      .superRefine(
        (o, ctx) => {
          const agents: unknown[] = Array.isArray((o as { agents?: unknown }).agents) ? (o as { agents: unknown[] }).agents : [];
          const seen = new Set<string>();
          agents.forEach((entry, i) => {
            if (!entry || typeof entry !== 'object') return;
            const a = entry as { name?: unknown; binary?: unknown; container?: unknown };
            if (typeof a.name !== 'string') return;
            if (seen.has(a.name)) ctx.addIssue({ code: 'custom', path: ['agents', i, 'name'], message: `duplicate agent name "${a.name}"` });
            seen.add(a.name);
            const known = (KNOWN_AGENT_NAMES as readonly string[]).includes(a.name);
            if (!known && !a.binary && !a.container) {
              ctx.addIssue({ code: 'custom', path: ['agents', i, 'binary'], message: `a command agent ("${a.name}" is not a known CLI) needs a binary` });
            }
          });
        },
        { when: () => true },
      )),
  })
  .strict();

export type ConfigFile = z.output<typeof configFileSchema>;
export type AgentConfigFile = z.output<typeof agentSchema>;
export type EmbeddingConfigFile = z.output<typeof embeddingSchema>;

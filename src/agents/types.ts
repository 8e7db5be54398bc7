/**
 * The shape every agent adapter has. An adapter does no I/O of its own: it
 * builds the argument list for one run and parses the lines the CLI prints.
 * The daemon spawns the process, feeds the lines in, and asks the parser for
 * the outcome when the process is gone (or its final event has arrived).
 */

export type EventStream = 'stdout' | 'stderr' | 'system';
export type EventKind = 'text' | 'thinking' | 'tool_call' | 'tool_result' | 'usage' | 'error' | 'result' | 'raw' | 'status';

export interface NormalizedEvent {
  stream: EventStream;
  kind: EventKind;
  /** Human-readable text: the assistant's words, a tool's name and input summary, an error message. */
  text?: string;
  /** Structured details: tool name/id/input, usage numbers, result fields. */
  data?: Record<string, unknown>;
  /** The line exactly as the CLI printed it. */
  raw: string;
}

/**
 * Token counts of a run, summed over its model calls. The four numbers are
 * disjoint, as Anthropic reports them: `inputTokens` is the input neither read
 * from nor written to the prompt cache, so the whole prompt is
 * input + cacheRead + cacheWrite. Adapters of CLIs that count cached tokens as
 * part of the input (Codex, Gemini) subtract them.
 */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** Everything an adapter needs to build one run's command line. */
export interface RunSpec {
  prompt: string;
  model?: string;
  /** The agent's own session/thread id to resume, when retrying or answering. */
  resumeSessionId?: string;
  workdir: string;
  /** A per-run scratch directory outside the workdir (e.g. for CODEX_HOME). */
  scratchDir: string;
  /** Path of an MCP configuration file offering switchyard's tools, when the agent supports MCP. */
  mcpConfigPath?: string;
  /** Whether the daemon runs as root (Claude Code refuses bypass mode as root without IS_SANDBOX=1). */
  runningAsRoot: boolean;
  /** Argument template of a command agent (`{prompt}`, `{model}`, `{workdir}`, `{session}`). */
  argsTemplate?: string[];
  /**
   * A directory that outlives the run and is shared by the runs of one task on
   * this daemon, for the agent's own session files (Codex keeps its sessions in
   * CODEX_HOME, so resuming needs the same one). Defaults to `scratchDir`.
   */
  sessionDir?: string;
  /** Extra options for a known CLI from the agent's config (`args`), placed where the CLI takes options. */
  extraArgs?: string[];
}

export interface Invocation {
  /** Arguments after the binary. Never joined into a shell string. */
  args: string[];
  /** Text written to the process's stdin, after which stdin is closed. Absent: stdin is closed at once. */
  stdin?: string;
  /** Variables the adapter adds to the scrubbed environment. */
  env: Record<string, string>;
  /** Directories the daemon creates before spawning (Codex refuses a CODEX_HOME that does not exist). */
  ensureDirs?: string[];
}

/** What a run produced, as far as the parser has seen. */
export interface RunFacts {
  sessionId?: string;
  model?: string;
  agentVersion?: string;
  usage?: TokenUsage;
  costUsd?: number;
  /** The agent's final answer. */
  resultText?: string;
  /** The final event has been seen (success or error); a lingering process can be stopped. */
  sawFinal: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export type Outcome =
  | { status: 'completed'; resultText?: string }
  | {
      status: 'failed';
      /** Short explanation for people. */
      reason: string;
      /** Failure class when the adapter recognised one (`auth`, `rate_limited`, `context_overflow`, …). */
      failureClass?: string;
      /** When the CLI reported a rate-limit reset time. */
      retryAt?: string;
    };

export interface LineParser {
  onStdout(line: string): NormalizedEvent[];
  onStderr(line: string): NormalizedEvent[];
  facts(): RunFacts;
  /** Decide the outcome from the final event (not the exit code alone). */
  outcome(exit: ExitInfo): Outcome;
}

export interface AgentAdapter {
  /** Agent name as used in tasks and the config (`claude-code`). */
  readonly name: string;
  /** Binary looked up on PATH when the config gives none. */
  readonly defaultBinary: string;
  /** Environment variable prefixes of the daemon passed through to this CLI (provider keys, base URLs). */
  readonly envPassthrough: readonly string[];
  /** Whether the CLI takes an MCP configuration file (RunSpec.mcpConfigPath) offering switchyard's tools. */
  readonly acceptsMcpConfig?: boolean;
  /** Whether the CLI can resume its own session (retries and answers then send only the new input). */
  readonly supportsResume: boolean;
  /** Arguments that make the binary print its version; empty when it has none and must not be probed. */
  readonly versionArgs: readonly string[];
  parseVersion(output: string): string | undefined;
  buildInvocation(spec: RunSpec): Invocation;
  createParser(): LineParser;
}

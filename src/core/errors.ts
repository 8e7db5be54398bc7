/**
 * Typed errors shared by every role. The HTTP layer maps them to status codes
 * in one place (src/server/errorHandler.ts); the CLI prints their message.
 */
import type { Actor, TaskStatus } from './taskState.js';

export interface ErrorDetail {
  path: string;
  message: string;
}

export class SwitchyardError extends Error {
  /** Stable machine-readable code, also the `error.code` of API answers. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class ValidationError extends SwitchyardError {
  constructor(
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super('validation_failed', message);
  }
}

export class NotFoundError extends SwitchyardError {
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super('not_found', `${kind} ${id} not found`);
  }
}

export class IllegalTransitionError extends SwitchyardError {
  constructor(
    readonly taskId: string,
    readonly from: TaskStatus,
    readonly to: TaskStatus,
    readonly actor: Actor,
  ) {
    super('illegal_transition', `task ${taskId} cannot go from ${from} to ${to} (by ${actor})`);
  }
}

/** A state-dependent request refused because the task is not in a state that allows it. */
export class StateConflictError extends SwitchyardError {
  constructor(
    message: string,
    readonly currentStatus: string,
  ) {
    super('state_conflict', message);
  }
}

export class AgentNotAllowedError extends SwitchyardError {
  constructor(
    readonly agent: string,
    readonly allowed: readonly string[],
  ) {
    super(
      'agent_not_allowed',
      allowed.length > 0
        ? `agent "${agent}" is not allowed in this workspace; allowed agents: ${allowed.join(', ')}`
        : `agent "${agent}" is not allowed: this workspace allows no agents and no agent is configured`,
    );
  }
}

export class AuthError extends SwitchyardError {
  constructor(message = 'missing or invalid bearer token') {
    super('unauthorized', message);
  }
}

export class ForbiddenError extends SwitchyardError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

export class ConflictError extends SwitchyardError {
  constructor(message: string) {
    super('conflict', message);
  }
}

export class PayloadTooLargeError extends SwitchyardError {
  constructor(message: string) {
    super('payload_too_large', message);
  }
}

export class ConfigError extends SwitchyardError {
  constructor(
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super('config_invalid', message);
  }
}

/** Turns anything thrown into an Error, so catch blocks never deal with `unknown`. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === 'string') return new Error(err);
  try {
    return new Error(JSON.stringify(err));
  } catch {
    return new Error(String(err));
  }
}

/**
 * The task lifecycle (DESIGN.md §2) as data plus two pure functions.
 *
 * Every status change anywhere in the system goes through `assertTransition`
 * first, and the SQL that performs it names the expected current status in
 * its WHERE clause, so two actors racing for the same task cannot both win.
 */
import { IllegalTransitionError } from './errors.js';

export const TASK_STATES = ['queued', 'claimed', 'executing', 'completed', 'failed', 'blocked', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATES)[number];

/** Who may cause a transition. */
export const ACTORS = ['user', 'dispatcher', 'daemon', 'reaper', 'promoter'] as const;
export type Actor = (typeof ACTORS)[number];

export interface Transition {
  from: TaskStatus;
  to: TaskStatus;
  by: readonly Actor[];
  /** Short reason used in timelines when the caller gives none. */
  why: string;
}

export const TRANSITIONS: readonly Transition[] = [
  { from: 'queued', to: 'claimed', by: ['dispatcher'], why: 'claimed by a runtime' },
  { from: 'claimed', to: 'executing', by: ['daemon'], why: 'agent process started' },
  { from: 'claimed', to: 'queued', by: ['reaper', 'daemon'], why: 'lease expired or runtime refused' },
  // An expired claim counts as an attempt (the runtime may have started it); on the last one the task fails.
  { from: 'claimed', to: 'failed', by: ['reaper'], why: 'lease expired on the last attempt' },
  { from: 'executing', to: 'completed', by: ['daemon'], why: 'agent finished' },
  { from: 'executing', to: 'failed', by: ['daemon', 'reaper'], why: 'run failed' },
  { from: 'executing', to: 'blocked', by: ['daemon'], why: 'agent asked a question' },
  { from: 'executing', to: 'queued', by: ['reaper'], why: 'runtime lost; retrying' },
  { from: 'failed', to: 'queued', by: ['promoter', 'user'], why: 'retry' },
  { from: 'blocked', to: 'queued', by: ['user'], why: 'answered' },
  { from: 'queued', to: 'cancelled', by: ['user'], why: 'cancelled' },
  { from: 'claimed', to: 'cancelled', by: ['user'], why: 'cancelled' },
  { from: 'executing', to: 'cancelled', by: ['daemon', 'reaper'], why: 'cancelled' },
  { from: 'blocked', to: 'cancelled', by: ['user'], why: 'cancelled' },
];

export const TERMINAL_STATES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];
/** States in which a task occupies one of its workspace's concurrency slots. */
export const ACTIVE_STATES: readonly TaskStatus[] = ['claimed', 'executing'];

export function findTransition(from: TaskStatus, to: TaskStatus): Transition | undefined {
  return TRANSITIONS.find((t) => t.from === from && t.to === to);
}

export function canTransition(from: TaskStatus, to: TaskStatus, actor: Actor): boolean {
  return findTransition(from, to)?.by.includes(actor) ?? false;
}

export function assertTransition(taskId: string, from: TaskStatus, to: TaskStatus, actor: Actor): Transition {
  const t = findTransition(from, to);
  if (!t || !t.by.includes(actor)) throw new IllegalTransitionError(taskId, from, to, actor);
  return t;
}

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATES.includes(status);
}

/**
 * What a user may do with a task in a given state. Cancelling an executing
 * task is a request: the daemon kills the process group and reports
 * `cancelled` once the group is gone, which is why `executing` offers cancel
 * although the user is not the actor of executing → cancelled.
 */
export type UserAction = 'cancel' | 'retry' | 'answer';
export function userActions(status: TaskStatus): UserAction[] {
  const actions: UserAction[] = [];
  if (status === 'executing' || canTransition(status, 'cancelled', 'user')) actions.push('cancel');
  if (status === 'failed') actions.push('retry');
  if (status === 'blocked') actions.push('answer');
  return actions;
}

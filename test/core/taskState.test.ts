/**
 * The task lifecycle of DESIGN.md §2, checked for every (from, to, actor).
 *
 * The expected table below is written out by hand from DESIGN.md §2 — it is
 * deliberately not derived from TRANSITIONS, so a change to the module that
 * the design does not describe fails here.
 */
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError, SwitchyardError } from '../../src/core/errors.js';
import {
  ACTIVE_STATES,
  ACTORS,
  TASK_STATES,
  TERMINAL_STATES,
  assertTransition,
  canTransition,
  isTerminal,
  userActions,
  type Actor,
  type TaskStatus,
} from '../../src/core/taskState.js';

const STATES = ['queued', 'claimed', 'executing', 'completed', 'failed', 'blocked', 'cancelled'] as const;
const WHO = ['user', 'dispatcher', 'daemon', 'reaper', 'promoter'] as const;

/**
 * DESIGN.md §2, one line per row of its table, with the actor who performs
 * each change. Where the design names an event rather than an actor:
 * - "lease expired" is the reaper; "daemon refused" and "final report" are the daemon;
 * - "daemon lost past its grace" is the reaper, which re-queues a retryable run and
 *   fails the others (§3: a run the daemon no longer knows is failed as runtime_lost);
 * - "answer" and "cancel" are the user — except from `executing`, where the user only
 *   asks: the daemon kills the process group and reports `cancelled` (or the reaper
 *   does it when the daemon is gone);
 * - `failed → queued` is the retry promoter, and also the user's explicit retry
 *   (issue 2: `POST /tasks/:id/retry`, "retry and answer do what the table allows").
 */
const EXPECTED: Record<string, readonly Actor[]> = {
  'queued→claimed': ['dispatcher'],
  'claimed→executing': ['daemon'],
  'claimed→queued': ['reaper', 'daemon'],
  // Not in DESIGN.md's table: a claim whose lease expired may have started (its report lost with a
  // server), so it counts as an attempt; on the last one the task fails (chaos suite, decisions).
  'claimed→failed': ['reaper'],
  'executing→completed': ['daemon'],
  'executing→failed': ['daemon', 'reaper'],
  'executing→blocked': ['daemon'],
  'executing→queued': ['reaper'],
  'failed→queued': ['promoter', 'user'],
  'blocked→queued': ['user'],
  'queued→cancelled': ['user'],
  'claimed→cancelled': ['user'],
  'executing→cancelled': ['daemon', 'reaper'],
  'blocked→cancelled': ['user'],
};

const allowed = (from: TaskStatus, to: TaskStatus): readonly Actor[] => EXPECTED[`${from}→${to}`] ?? [];

describe('the task state machine', () => {
  it('has exactly the seven states and five actors the design names', () => {
    expect([...TASK_STATES]).toEqual([...STATES]);
    expect([...ACTORS].sort()).toEqual([...WHO].sort());
  });

  describe.each(STATES)('from %s', (from) => {
    it.each(STATES)(`to %s: allowed for exactly the actors of DESIGN.md §2, refused with the fields for everyone else`, (to) => {
      const legal = allowed(from, to);
      for (const actor of WHO) {
        expect(canTransition(from, to, actor), `${from} → ${to} by ${actor}`).toBe(legal.includes(actor));
        if (legal.includes(actor)) {
          const t = assertTransition('task-1', from, to, actor);
          expect(t).toMatchObject({ from, to });
          expect(t.why).not.toBe('');
          continue;
        }
        let thrown: unknown;
        try {
          assertTransition('task-1', from, to, actor);
        } catch (err) {
          thrown = err;
        }
        expect(thrown, `${from} → ${to} by ${actor} must throw`).toBeInstanceOf(IllegalTransitionError);
        const e = thrown as IllegalTransitionError;
        expect(e).toBeInstanceOf(SwitchyardError);
        expect({ taskId: e.taskId, from: e.from, to: e.to, actor: e.actor, code: e.code }).toEqual({
          taskId: 'task-1',
          from,
          to,
          actor,
          code: 'illegal_transition',
        });
        expect(e.message).toContain(from);
        expect(e.message).toContain(to);
      }
    });
  });

  it('allows 18 (from, to, actor) triples in all, so the loop above really saw legal ones', () => {
    let legal = 0;
    for (const from of STATES) for (const to of STATES) for (const actor of WHO) if (canTransition(from, to, actor)) legal++;
    expect(legal).toBe(Object.values(EXPECTED).reduce((n, actors) => n + actors.length, 0));
    expect(legal).toBe(18);
  });

  it('never lets a task stay in its state through a transition', () => {
    for (const s of STATES) for (const actor of WHO) expect(canTransition(s, s, actor)).toBe(false);
  });

  it('calls completed, failed and cancelled terminal: nothing leaves them except a retry of a failed task', () => {
    expect([...TERMINAL_STATES].sort()).toEqual(['cancelled', 'completed', 'failed']);
    for (const s of STATES) expect(isTerminal(s), s).toBe(['completed', 'failed', 'cancelled'].includes(s));
    const exits = (from: TaskStatus) => STATES.flatMap((to) => WHO.filter((a) => canTransition(from, to, a)).map((a) => `${to} by ${a}`));
    expect(exits('completed')).toEqual([]);
    expect(exits('cancelled')).toEqual([]);
    expect(exits('failed').sort()).toEqual(['queued by promoter', 'queued by user']);
    for (const s of STATES.filter((x) => !isTerminal(x))) expect(exits(s).length, `${s} must have a way out`).toBeGreaterThan(0);
  });

  it('counts claimed and executing tasks against the concurrency cap, and nothing else', () => {
    expect([...ACTIVE_STATES].sort()).toEqual(['claimed', 'executing']);
  });

  it('offers a user the actions the table allows in each state', () => {
    const actions: Record<TaskStatus, string[]> = {
      queued: ['cancel'],
      claimed: ['cancel'],
      // A request: the daemon performs executing → cancelled once the process group is gone.
      executing: ['cancel'],
      completed: [],
      failed: ['retry'],
      blocked: ['answer', 'cancel'],
      cancelled: [],
    };
    for (const s of STATES) expect([...userActions(s)].sort(), s).toEqual(actions[s]);
  });
});

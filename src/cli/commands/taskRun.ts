/**
 * `switchyard task run` — for pipelines: create a task, stream its
 * transcript, and exit with a code that tells the outcome:
 *   0 completed, 1 failed, 2 blocked, 3 cancelled (also after --timeout),
 *   4 could not reach the server, or the input was refused.
 * Works with only SWITCHYARD_URL and SWITCHYARD_TOKEN set.
 */
import type { Command } from 'commander';
import ms from 'ms';
import { ApiError, UnreachableError } from '../../client/index.js';
import type { Task } from '../../core/api.js';
import { UsageError } from '../errors.js';
import { clientFrom } from './common.js';
import { createBody, createOptions, formatEvent, type CreateFlags } from './task.js';

export const RUN_EXIT = { completed: 0, failed: 1, blocked: 2, cancelled: 3, unreachable: 4 } as const;

interface RunFlags extends CreateFlags {
  timeout?: string;
  raw?: boolean;
}

export function registerTaskRun(task: Command): void {
  createOptions(task.command('run [prompt]').description('create a task, stream its transcript, and exit with its outcome (0 completed, 1 failed, 2 blocked, 3 cancelled, 4 unreachable or refused)'))
    .option('--timeout <duration>', 'cancel the task if it has not finished after this long (e.g. 30m)')
    .option('--raw', 'print the agent\'s raw output lines')
    .action(async (prompt: string | undefined, f: RunFlags) => {
      process.exitCode = await run(prompt, f);
    });
}

async function run(prompt: string | undefined, f: RunFlags): Promise<number> {
  let timeoutMs: number | undefined;
  try {
    if (f.timeout !== undefined) {
      timeoutMs = ms(f.timeout as ms.StringValue);
      if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a duration such as 90s or 30m, got "${f.timeout}"`);
    }
    const body = createBody(prompt, f);
    if (body.agents) throw new UsageError('task run takes one agent (use task create for a comparison group)');
    const client = clientFrom(f);
    const task = await client.tasks.create({ ...body, assignedAgent: body.assignedAgent!, agents: undefined });
    const log = (line: string) => process.stderr.write(`${line}\n`);
    if (!f.json) log(`switchyard: task ${task.id} queued for ${task.assignedAgent}${task.statusReason ? ` (${task.statusReason})` : ''}`);
    else process.stdout.write(`${JSON.stringify({ type: 'task', task })}\n`);

    const abort = new AbortController();
    let timedOut = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          if (!f.json) log(`switchyard: no result after ${f.timeout}; cancelling ${task.id}`);
          void client.tasks.cancel(task.id, `timed out after ${f.timeout} (switchyard task run --timeout)`).catch(() => abort.abort());
        }, timeoutMs)
      : undefined;
    let last: Task = task;
    try {
      for await (const item of client.tasks.follow(task.id, { signal: abort.signal })) {
        if (item.type === 'event') {
          process.stdout.write(`${f.json ? JSON.stringify({ type: 'event', event: item.event }) : formatEvent(item.event, f.raw)}\n`);
        } else if (item.type === 'task') {
          if (f.json) process.stdout.write(`${JSON.stringify({ type: 'task', task: item.task })}\n`);
          else if (item.task.status !== last.status) log(`switchyard: ${item.task.status}${item.task.statusReason ? ` — ${item.task.statusReason}` : ''}`);
          last = item.task;
        } else if (!f.json) {
          log(`switchyard: connection lost (${item.error}); reconnecting…`);
        }
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (!f.json) {
      if (last.status === 'blocked') log(`switchyard: the agent asks: ${last.question ?? '(no question text)'}\nAnswer with: switchyard task answer ${task.id} "<answer>"`);
      if (last.status === 'completed' && last.resultText) log(`switchyard: result: ${last.resultText.split('\n')[0]}`);
    }
    if (timedOut && last.status !== 'completed') return RUN_EXIT.cancelled;
    switch (last.status) {
      case 'completed':
        return RUN_EXIT.completed;
      case 'blocked':
        return RUN_EXIT.blocked;
      case 'cancelled':
        return RUN_EXIT.cancelled;
      default:
        return RUN_EXIT.failed;
    }
  } catch (err) {
    // Anything that kept the task from being run or followed: exit 4.
    if (err instanceof UsageError || err instanceof UnreachableError || (err instanceof ApiError && err.status < 500)) {
      process.stderr.write(`switchyard: ${err.message}${err instanceof UnreachableError ? ' — check SWITCHYARD_URL' : ''}\n`);
      return RUN_EXIT.unreachable;
    }
    throw err;
  }
}

/** Recurring failures: a workspace's failed runs grouped by class, agent, model or prompt. */
import type { FailureGrouping, FailurePattern, FailurePatterns } from '../core/api.js';
import type { Queryable } from './db.js';
import { iso } from './rows.js';
import { sql } from './sql.js';

export interface FailurePatternsQuery {
  workspaceId: string;
  /** ISO time: runs that failed at or after it. */
  since: string;
  groupBy: FailureGrouping;
  limit: number;
  agent?: string | undefined;
  failureClass?: string | undefined;
}

export async function failurePatterns(q: Queryable, f: FailurePatternsQuery): Promise<FailurePatterns> {
  const { rows } = await q.query(sql('failure_patterns'), [f.workspaceId, f.since, f.groupBy, f.agent ?? null, f.failureClass ?? null, f.limit]);
  const items: FailurePattern[] = rows.map((r) => ({
    key: r.key === null ? null : String(r.key),
    count: Number(r.failures),
    tasks: Number(r.tasks),
    firstAt: iso(r.first_at),
    lastAt: iso(r.last_at),
    taskIds: (r.task_ids as string[] | null) ?? [],
    promptExcerpt: r.prompt_excerpt === null || r.prompt_excerpt === undefined ? null : String(r.prompt_excerpt),
    top: ((r.top as { key: string | null; count: number }[] | null) ?? []).map((t) => ({ key: t.key, count: Number(t.count) })),
  }));
  const first = rows[0];
  return {
    groupBy: f.groupBy,
    since: f.since,
    totalFailures: first ? Number(first.total_failures) : 0,
    totalGroups: first ? Number(first.total_groups) : 0,
    items,
  };
}

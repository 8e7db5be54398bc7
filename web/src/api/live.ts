/**
 * Query keys, and how a task change from the stream updates what TanStack
 * Query holds, so the board and the task page change without a refetch.
 */
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useSession } from '../session.js';
import { ACTIVE_STATUSES, type Page, type Task, type TaskStatus } from './types.js';

export type BoardPart = 'active' | 'finished';

export const keys = {
  board: (ws: string, part: BoardPart) => ['tasks', ws, part] as const,
  task: (id: string) => ['task', id] as const,
  runs: (id: string) => ['runs', id] as const,
  daemons: (ws: string, all: boolean) => ['daemons', all ? '*' : ws] as const,
  health: (id: string) => ['health', id] as const,
  workspaces: () => ['workspaces'] as const,
  workspace: (id: string) => ['workspace', id] as const,
  tokens: (scope: string) => ['tokens', scope] as const,
  webhooks: (ws: string) => ['webhooks', ws] as const,
  deliveries: (webhookId: string, status: string) => ['deliveries', webhookId, status] as const,
};

const partOf = (s: TaskStatus): BoardPart => ((ACTIVE_STATUSES as readonly string[]).includes(s) ? 'active' : 'finished');

/** Newer of two versions of a task, by updatedAt (frames and refetches can cross). */
const newer = (a: Task, b: Task) => (Date.parse(a.updatedAt) >= Date.parse(b.updatedAt) ? a : b);

export function applyTaskChange(qc: QueryClient, ws: string, t: Task): void {
  if (t.workspaceId === ws) {
    for (const part of ['active', 'finished'] as const) {
      qc.setQueryData<Page<Task>>(keys.board(ws, part), (old) => {
        if (!old) return old;
        const existing = old.items.find((x) => x.id === t.id);
        const latest = existing ? newer(t, existing) : t;
        const items = old.items.filter((x) => x.id !== t.id);
        if (partOf(latest.status) === part) {
          // Newest first, as GET /tasks answers.
          const i = items.findIndex((x) => x.createdAt < latest.createdAt);
          items.splice(i < 0 ? items.length : i, 0, latest);
        }
        return { ...old, items };
      });
    }
  }
  const before = qc.getQueryData<Task>(keys.task(t.id));
  if (before) {
    const latest = newer(t, before);
    // Stream frames carry no timeline: keep the one we have, then refetch it.
    qc.setQueryData<Task>(keys.task(t.id), { ...latest, timeline: latest.timeline ?? before.timeline });
    if (latest.status !== before.status || latest.attempt !== before.attempt) {
      void qc.invalidateQueries({ queryKey: keys.task(t.id) });
      void qc.invalidateQueries({ queryKey: keys.runs(t.id) });
    }
  }
}

/** Keeps the shown workspace's tasks live while the app is open. */
export function useLiveWorkspace(): void {
  const { stream, workspace } = useSession();
  const qc = useQueryClient();
  useEffect(() => stream.watchWorkspace(workspace, (t) => applyTaskChange(qc, workspace, t)), [stream, workspace, qc]);
}

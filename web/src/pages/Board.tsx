/**
 * The board: the workspace's tasks in columns by state, live (stream task
 * frames update the query cache, see api/live.ts). Active tasks and the most
 * recent finished ones are fetched separately, so a long history never
 * pushes a queued task off the board.
 */
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { keys } from '../api/live.js';
import { ACTIVE_STATUSES, BOARD_COLUMNS, FINISHED_STATUSES, type Task, type TaskStatus } from '../api/types.js';
import { Empty, ErrorNotice, GetStarted, Loading, Notice } from '../components/common.js';
import { ago, firstLine, shortId } from '../format.js';
import { taskHref } from '../router.js';
import { apiBase, useSession } from '../session.js';

const FINISHED_SHOWN = 100;
const CARDS_PER_COLUMN = 100;

const HINT: Record<TaskStatus, string> = {
  queued: 'waiting for a runtime',
  claimed: 'a runtime took it',
  executing: 'an agent is working',
  blocked: 'waiting for your answer',
  completed: 'done',
  failed: 'retry or read why',
  cancelled: 'stopped',
};

export function BoardPage() {
  const { api, workspace, canWrite } = useSession();
  // Live through the stream; the slow re-read only covers a change notification lost on the server's side.
  const active = useQuery({ queryKey: keys.board(workspace, 'active'), queryFn: () => api.tasks({ status: ACTIVE_STATUSES, limit: 500 }), refetchInterval: 60_000 });
  const finished = useQuery({ queryKey: keys.board(workspace, 'finished'), queryFn: () => api.tasks({ status: FINISHED_STATUSES, limit: FINISHED_SHOWN }), refetchInterval: 60_000 });
  const daemons = useQuery({ queryKey: keys.daemons(workspace, false), queryFn: () => api.daemons(), refetchInterval: 10_000 });
  const [agent, setAgent] = useState('');
  const [text, setText] = useState('');

  const all = useMemo(() => [...(active.data?.items ?? []), ...(finished.data?.items ?? [])], [active.data, finished.data]);
  const agents = useMemo(() => [...new Set(all.map((t) => t.assignedAgent))].sort(), [all]);
  const columns = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const shown = all.filter(
      (t) =>
        (!agent || t.assignedAgent === agent) &&
        (!needle || t.prompt.toLowerCase().includes(needle) || t.id.startsWith(needle) || (t.model ?? '').toLowerCase().includes(needle)),
    );
    const by = new Map<TaskStatus, Task[]>(BOARD_COLUMNS.map((s) => [s, []]));
    for (const t of shown) by.get(t.status)?.push(t);
    // Queued in the order the dispatcher takes them: priority, then age.
    by.get('queued')!.sort((a, b) => b.priority - a.priority || a.createdAt.localeCompare(b.createdAt));
    return by;
  }, [all, agent, text]);

  if (active.isPending || finished.isPending) return <Loading what="tasks" />;
  if (active.error) return <ErrorNotice error={active.error} what="tasks" />;
  if (finished.error) return <ErrorNotice error={finished.error} what="tasks" />;

  const online = daemons.data?.items.filter((d) => d.state === 'online') ?? [];
  const noRuntime = daemons.isSuccess && online.length === 0;

  return (
    <div className="board-page">
      <div className="page-head">
        <h1>Board</h1>
        <div className="filters" role="search">
          <label>
            <span className="visually-hidden">Agent</span>
            <select value={agent} onChange={(e) => setAgent(e.target.value)} aria-label="Filter by agent">
              <option value="">All agents</option>
              {agents.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label>
            <span className="visually-hidden">Search</span>
            <input type="search" placeholder="Filter: prompt, id, model" value={text} onChange={(e) => setText(e.target.value)} aria-label="Filter by text" />
          </label>
          {canWrite && (
            <a className="button primary" href="#/new">
              New task
            </a>
          )}
        </div>
      </div>
      {noRuntime && (
        <Notice kind="warn" title="No runtime is connected">
          Tasks wait in <em>queued</em> until a daemon with their agent connects. <a href="#/runtimes">Runtimes</a> shows how to start one.
        </Notice>
      )}
      {all.length === 0 ? (
        <Empty title="No tasks in this workspace yet">
          <p>
            {canWrite ? (
              <>
                <a href="#/new">Create a task</a> — or from a terminal: <code>switchyard task create --agent claude-code "Fix the flaky login test"</code>
              </>
            ) : (
              'Your token can read this workspace; tasks appear here as soon as somebody creates one.'
            )}
          </p>
          {noRuntime && <GetStarted origin={apiBase()} compact />}
        </Empty>
      ) : (
        <div className="board" data-testid="board">
          {BOARD_COLUMNS.map((status) => {
            const tasks = columns.get(status) ?? [];
            return (
              <section key={status} className={`column column-${status}`} aria-labelledby={`col-${status}`} data-status={status}>
                <h2 id={`col-${status}`}>
                  <span className={`dot status-${status}`} aria-hidden="true" />
                  {status} <span className="count">{tasks.length}</span>
                </h2>
                <p className="muted small column-hint">{HINT[status]}</p>
                <ol className="cards">
                  {tasks.slice(0, CARDS_PER_COLUMN).map((t) => (
                    <li key={t.id}>
                      <TaskCard task={t} />
                    </li>
                  ))}
                </ol>
                {tasks.length > CARDS_PER_COLUMN && <p className="muted small">and {tasks.length - CARDS_PER_COLUMN} more</p>}
              </section>
            );
          })}
        </div>
      )}
      {finished.data && finished.data.nextCursor && <p className="muted small">Finished columns show the {FINISHED_SHOWN} most recent tasks.</p>}
    </div>
  );
}

function TaskCard({ task: t }: { task: Task }) {
  return (
    <a className="task-card" href={taskHref(t.id)} data-task-id={t.id} data-testid="task-card">
      <span className="card-prompt">{firstLine(t.prompt) || '(empty prompt)'}</span>
      <span className="card-meta">
        <span className="agent">{t.assignedAgent}</span>
        <span className={`priority${t.priority > 0 ? ' high' : t.priority < 0 ? ' low' : ''}`} title="Priority (higher runs first)">
          P{t.priority}
        </span>
        {t.attempt > 1 && (
          <span title="Attempt">
            try {t.attempt}/{t.maxAttempts}
          </span>
        )}
        <span className="muted">{ago(t.updatedAt)}</span>
      </span>
      {t.status === 'blocked' && t.question && <span className="card-question">? {firstLine(t.question, 100)}</span>}
      {t.progressNote && (t.status === 'executing' || t.status === 'claimed') && <span className="card-progress">{firstLine(t.progressNote, 100)}</span>}
      {t.statusReason && t.status !== 'completed' && <span className="card-reason">{firstLine(t.statusReason, 100)}</span>}
      {t.status === 'queued' && t.runAfter && Date.parse(t.runAfter) > Date.now() && <span className="card-reason">scheduled, runs {ago(t.runAfter)}</span>}
      <span className="visually-hidden">task {shortId(t.id)}</span>
    </a>
  );
}

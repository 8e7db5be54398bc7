/**
 * Compare: one task group (several agents given the same prompt) side by
 * side — outcome, time, tokens, cost, diff summary, final answer — from
 * GET /api/v1/task-groups/:id, live as the group's tasks change. A server
 * without the route answers 404 `no route`, shown as "not available yet".
 */
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/http.js';
import type { DiffSummary, GroupTask } from '../api/types.js';
import { DiffTotals } from '../components/DiffView.js';
import { Empty, ErrorNotice, Loading, StatusBadge } from '../components/common.js';
import { count, duration, firstLine, time, usd } from '../format.js';
import { navigate, taskHref } from '../router.js';
import { useSession } from '../session.js';

export function ComparePage({ id }: { id?: string }) {
  if (!id) return <ChooseGroup />;
  return <Group key={id} id={id} />;
}

function ChooseGroup() {
  const { api, workspace } = useSession();
  const [id, setId] = useState('');
  // Recent groups: the newest tasks that belong to one (GET /tasks has no group listing of its own).
  const recent = useQuery({ queryKey: ['tasks', workspace, 'recent-groups'], queryFn: () => api.tasks({ limit: 200 }) });
  const groups = new Map<string, { prompt: string; agents: string[]; createdAt: string }>();
  for (const t of recent.data?.items ?? []) {
    if (!t.groupId) continue;
    const g = groups.get(t.groupId) ?? { prompt: t.prompt, agents: [], createdAt: t.createdAt };
    g.agents.push(t.assignedAgent);
    groups.set(t.groupId, g);
  }
  const open = (e: FormEvent) => {
    e.preventDefault();
    if (id.trim()) navigate(`/compare/${encodeURIComponent(id.trim())}`);
  };
  return (
    <div className="narrow-page">
      <h1>Compare</h1>
      <p>
        A comparison group gives one prompt to several agents; this page shows their outcomes side by side. Start one from <a href="#/new">New task</a> by
        choosing more than one agent.
      </p>
      {groups.size > 0 && (
        <section className="card">
          <h2>Recent groups</h2>
          <ul className="plain group-list">
            {[...groups].map(([gid, g]) => (
              <li key={gid}>
                <a href={`#/compare/${gid}`}>{firstLine(g.prompt, 90)}</a>{' '}
                <span className="muted small">
                  {g.agents.sort().join(' · ')} · {time(g.createdAt)}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <form className="inline-form" onSubmit={open}>
        <label>
          Group id
          <input value={id} onChange={(e) => setId(e.target.value)} placeholder="00000000-0000-…" />
        </label>
        <button type="submit" className="primary" disabled={!id.trim()}>
          Open
        </button>
      </form>
    </div>
  );
}

function Group({ id }: { id: string }) {
  const { api } = useSession();
  const group = useQuery({
    queryKey: ['task-group', id],
    queryFn: () => api.taskGroup(id),
    // Until every agent has finished, follow along.
    refetchInterval: (q) => (q.state.data?.tasks.some((t) => !['completed', 'failed', 'cancelled'].includes(t.status)) ? 3_000 : false),
  });

  if (group.isPending) return <Loading what="the group" />;
  if (group.error) {
    if (group.error instanceof ApiError && (group.error.status === 404 || group.error.status === 400)) {
      return (
        <Empty title="No such group">
          <p>
            Group <code>{id}</code> does not exist or is not in a workspace your token can see. <a href="#/compare">Back</a>
          </p>
        </Empty>
      );
    }
    return <ErrorNotice error={group.error} what="the group" />;
  }
  const g = group.data;
  return (
    <div>
      <div className="page-head">
        <div>
          <h1>Compare</h1>
          <p className="muted">
            {g.tasks.length} agents · created {time(g.createdAt)}
          </p>
        </div>
      </div>
      <details className="card">
        <summary>Prompt: {firstLine(g.prompt, 100)}</summary>
        <pre className="prompt">{g.prompt}</pre>
      </details>
      <div className="compare" style={{ gridTemplateColumns: `repeat(${Math.max(1, g.tasks.length)}, minmax(15rem, 1fr))` }}>
        {g.tasks.map((t) => (
          <CompareColumn key={t.id} t={t} />
        ))}
      </div>
    </div>
  );
}

function CompareColumn({ t }: { t: GroupTask }) {
  const run = t.latestRun;
  const usage = run?.usage ?? {};
  const tokens = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens'].reduce((n, k) => n + (typeof usage[k] === 'number' ? (usage[k] as number) : 0), 0);
  const diff = run?.diff as DiffSummary | null | undefined;
  return (
    <article className="card compare-col" aria-labelledby={`cmp-${t.id}`}>
      <h2 id={`cmp-${t.id}`}>
        <a href={taskHref(t.id)}>{t.assignedAgent}</a>
      </h2>
      <p>
        <StatusBadge status={t.status} /> <span className="muted small">{t.model ?? run?.model ?? 'default model'}</span>
      </p>
      <dl className="facts compact">
        <dt>Time</dt>
        <dd>{duration(run?.durationMs ?? null)}</dd>
        <dt>Tokens</dt>
        <dd>{run?.usage ? count(tokens) : '—'}</dd>
        <dt>Cost</dt>
        <dd>{usd(run?.costUsd)}</dd>
        <dt>Attempts</dt>
        <dd>
          {t.attempt}/{t.maxAttempts}
        </dd>
        {run?.failureClass && (
          <>
            <dt>Failure</dt>
            <dd className="bad-text">{run.failureClass}</dd>
          </>
        )}
        <dt>Changes</dt>
        <dd>{diff ? <DiffTotals diff={diff} /> : '—'}</dd>
      </dl>
      <h3>Final answer</h3>
      <pre className="prompt">{t.resultText ?? run?.resultText ?? (t.status === 'executing' ? 'still working…' : '—')}</pre>
    </article>
  );
}

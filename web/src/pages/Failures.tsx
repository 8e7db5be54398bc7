/**
 * Failures: the workspace's failed runs over a time window, counted by
 * failure class, agent, model or prompt, as a bar chart whose rows link to
 * their tasks (GET /api/v1/failures/patterns?since=&groupBy=). A prompt or a
 * configuration that keeps failing shows up as one long bar.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { FAILURE_GROUPINGS, type FailureGrouping, type FailurePattern } from '../api/types.js';
import { ErrorNotice, Loading } from '../components/common.js';
import { ago, count, firstLine, shortId, time } from '../format.js';
import { taskHref } from '../router.js';
import { useSession } from '../session.js';

// Durations, resolved by the server against its own clock, so the query key stays put between renders.
const WINDOWS = [
  { label: '24 hours', since: '24h' },
  { label: '7 days', since: '7d' },
  { label: '30 days', since: '30d' },
] as const;
type Since = (typeof WINDOWS)[number]['since'];
const GROUP_LABEL: Record<FailureGrouping, string> = { class: 'Failure class', agent: 'Agent', model: 'Model', prompt: 'Prompt' };
/** What each group's `top` counts: the other dimension. */
const TOP_LABEL: Record<FailureGrouping, string> = { class: 'agents', agent: 'classes', model: 'classes', prompt: 'classes' };
const LINKED_TASKS = 5;

function Label({ p, groupBy }: { p: FailurePattern; groupBy: FailureGrouping }) {
  if (groupBy === 'prompt') {
    // The hash means nothing to a person; the prompt's first words do.
    return <span title={`${p.promptExcerpt ?? ''}\nprompt hash ${p.key ?? ''}`}>{p.promptExcerpt ? firstLine(p.promptExcerpt, 90) : <code>{p.key?.slice(0, 12)}</code>}</span>;
  }
  if (p.key === null) return <span className="muted">(no model)</span>;
  return <code>{p.key}</code>;
}

export function FailuresPage() {
  const { api, workspace } = useSession();
  const [since, setSince] = useState<Since>('7d');
  const [groupBy, setGroupBy] = useState<FailureGrouping>('class');
  const patterns = useQuery({
    queryKey: ['failures', workspace, since, groupBy],
    queryFn: () => api.failurePatterns({ since, groupBy }),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });

  const data = patterns.data;
  const items = data?.items ?? [];
  const max = Math.max(1, ...items.map((p) => p.count));
  return (
    <div>
      <div className="page-head">
        <h1>Failures</h1>
        <div className="filters">
          <div className="segmented" role="group" aria-label="Time window">
            {WINDOWS.map((w) => (
              <button key={w.since} type="button" aria-pressed={since === w.since} onClick={() => setSince(w.since)}>
                {w.label}
              </button>
            ))}
          </div>
          <div className="segmented" role="group" aria-label="Group by">
            {FAILURE_GROUPINGS.map((g) => (
              <button key={g} type="button" aria-pressed={groupBy === g} onClick={() => setGroupBy(g)}>
                {GROUP_LABEL[g]}
              </button>
            ))}
          </div>
        </div>
      </div>
      {patterns.isPending ? (
        <Loading what="failure patterns" />
      ) : patterns.error ? (
        <ErrorNotice error={patterns.error} what="failure patterns" />
      ) : items.length === 0 ? (
        <p className="muted" data-testid="failures-empty">
          No failed runs since {time(data?.since)}.
        </p>
      ) : (
        <>
          <p className="muted small" data-testid="failures-summary">
            {count(data?.totalFailures)} failed {data?.totalFailures === 1 ? 'run' : 'runs'} since {time(data?.since)} in {count(data?.totalGroups)}{' '}
            {data?.totalGroups === 1 ? 'group' : 'groups'} by {GROUP_LABEL[groupBy].toLowerCase()}
            {data && data.totalGroups > items.length ? `, the ${items.length} largest shown` : ''}. Cancelled runs are not failures.
          </p>
          <ol className="plain bars" aria-label={`Failures by ${GROUP_LABEL[groupBy].toLowerCase()}`}>
            {items.map((p) => (
              <li key={p.key ?? ''} className="bar-row" data-testid="failure-pattern" data-key={p.key ?? ''}>
                <span className="bar-key">
                  <Label p={p} groupBy={groupBy} />
                </span>
                <span className="bar-track" aria-hidden="true">
                  <span className="bar" style={{ width: `${(p.count / max) * 100}%` }} />
                </span>
                <span className="bar-count" aria-label={`${p.count} failed runs`}>
                  {p.count}
                </span>
                <span className="bar-tasks small">
                  {p.tasks} {p.tasks === 1 ? 'task' : 'tasks'} · last {ago(p.lastAt)}
                  {p.top.length > 0 && (
                    <span className="muted">
                      {' '}
                      · {TOP_LABEL[groupBy]}: {p.top.map((t) => `${t.key ?? '(none)'} ${t.count}`).join(', ')}
                    </span>
                  )}
                  <br />
                  {p.taskIds.slice(0, LINKED_TASKS).map((id) => (
                    <a key={id} href={taskHref(id)} title={`task ${id}`}>
                      {shortId(id)}
                    </a>
                  ))}
                  {p.tasks > LINKED_TASKS && <span className="muted"> +{p.tasks - LINKED_TASKS} more</span>}
                </span>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

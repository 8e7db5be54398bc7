/**
 * Failures: failure patterns over a time window, counted by class, agent,
 * model or prompt hash, as a bar chart linking to the tasks. Built against
 * the planned GET /api/v1/failures/patterns?since=&groupBy= (issue 6).
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { FAILURE_GROUPINGS, type FailureGrouping } from '../api/types.js';
import { ErrorNotice, isRouteMissing, Loading, NotAvailable } from '../components/common.js';
import { ago, shortId } from '../format.js';
import { taskHref } from '../router.js';
import { useSession } from '../session.js';

const WINDOWS = [
  { label: '24 hours', ms: 86_400_000 },
  { label: '7 days', ms: 7 * 86_400_000 },
  { label: '30 days', ms: 30 * 86_400_000 },
] as const;
const GROUP_LABEL: Record<FailureGrouping, string> = { class: 'Failure class', agent: 'Agent', model: 'Model', prompt: 'Prompt hash' };

export function FailuresPage() {
  const { api, workspace } = useSession();
  const [windowMs, setWindowMs] = useState<number>(WINDOWS[1].ms);
  const [groupBy, setGroupBy] = useState<FailureGrouping>('class');
  // Rounded to the minute so the query key (and the cache) stays put between renders.
  const since = useMemo(() => new Date(Math.floor((Date.now() - windowMs) / 60_000) * 60_000).toISOString(), [windowMs]);
  const patterns = useQuery({
    queryKey: ['failures', workspace, since, groupBy],
    queryFn: () => api.failurePatterns(since, groupBy),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });

  if (patterns.error && isRouteMissing(patterns.error)) {
    return (
      <div>
        <h1>Failures</h1>
        <NotAvailable feature="Failures" endpoint="GET /api/v1/failures/patterns" />
      </div>
    );
  }
  const items = patterns.data?.items ?? [];
  const max = Math.max(1, ...items.map((p) => p.count));
  const total = items.reduce((n, p) => n + p.count, 0);
  return (
    <div>
      <div className="page-head">
        <h1>Failures</h1>
        <div className="filters">
          <div className="segmented" role="group" aria-label="Time window">
            {WINDOWS.map((w) => (
              <button key={w.ms} type="button" aria-pressed={windowMs === w.ms} onClick={() => setWindowMs(w.ms)}>
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
        <p className="muted">No failed attempts in this window.</p>
      ) : (
        <>
          <p className="muted small">
            {total} failed attempts by {GROUP_LABEL[groupBy].toLowerCase()}.
          </p>
          <ol className="plain bars" aria-label={`Failures by ${GROUP_LABEL[groupBy]}`}>
            {items.map((p) => (
              <li key={p.key} className="bar-row">
                <span className="bar-key">
                  <code>{groupBy === 'prompt' ? p.key.slice(0, 12) : p.key || '(none)'}</code>
                </span>
                <span className="bar-track" aria-hidden="true">
                  <span className="bar" style={{ width: `${(p.count / max) * 100}%` }} />
                </span>
                <span className="bar-count">{p.count}</span>
                <span className="bar-tasks small">
                  last {ago(p.lastAt)} ·{' '}
                  {p.taskIds.slice(0, 5).map((id) => (
                    <a key={id} href={taskHref(id)}>
                      {shortId(id)}
                    </a>
                  ))}
                  {p.taskIds.length > 5 && <span className="muted"> +{p.taskIds.length - 5}</span>}
                </span>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

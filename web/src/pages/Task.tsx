/**
 * One task: the live transcript, and beside it what happened (timeline,
 * attempts with their failure records, usage and cost, diff, suggested
 * skills) and the actions its state allows.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../api/http.js';
import { applyTaskChange, keys } from '../api/live.js';
import type { DiffSummary, Task, TaskRun } from '../api/types.js';
import { Empty, ErrorNotice, Loading, Notice, StatusBadge } from '../components/common.js';
import { DiffView } from '../components/DiffView.js';
import { Transcript } from '../components/Transcript.js';
import { count, duration, shortId, time, usd } from '../format.js';
import { useSession } from '../session.js';
import { useTranscript } from '../stream/useStream.js';

export function TaskPage({ id }: { id: string }) {
  const { api } = useSession();
  const task = useQuery({
    queryKey: keys.task(id),
    queryFn: () => api.task(id),
    // The stream keeps it current; this slow re-read only covers a change notification lost on the
    // server's side (several servers whose LISTEN connection dropped).
    refetchInterval: (q) => (q.state.data && !['completed', 'failed', 'cancelled'].includes(q.state.data.status) ? 30_000 : false),
  });
  const runs = useQuery({ queryKey: keys.runs(id), queryFn: () => api.runs(id), enabled: task.isSuccess });
  const { events, error: streamError } = useTranscript(id);

  if (task.isPending) return <Loading what="the task" />;
  if (task.error) {
    if (task.error instanceof ApiError && task.error.status === 404) {
      return (
        <Empty title="No such task">
          <p>
            Task <code>{id}</code> does not exist, or it belongs to a workspace your token cannot see. <a href="#/board">Back to the board</a>
          </p>
        </Empty>
      );
    }
    return <ErrorNotice error={task.error} what="the task" />;
  }
  const t = task.data;
  const live = t.status === 'queued' || t.status === 'claimed' || t.status === 'executing';
  return (
    <div className="task-page" data-testid="task-page" data-status={t.status}>
      <TaskHeader t={t} />
      <Actions t={t} />
      {streamError && <Notice kind="error">{streamError}</Notice>}
      <div className="task-layout">
        <Transcript events={events} live={live} />
        <aside className="task-side" aria-label="Task details">
          <Details t={t} />
          <Usage runs={runs.data?.items ?? []} t={t} />
          <Attempts t={t} runs={runs.data?.items} error={runs.error} />
          <Diff runs={runs.data?.items ?? []} />
          <Suggestions t={t} />
          <Timeline t={t} />
        </aside>
      </div>
    </div>
  );
}

function TaskHeader({ t }: { t: Task }) {
  return (
    <div className="page-head task-head">
      <div>
        <p className="muted small crumbs">
          <a href="#/board">Board</a> / task <code title={t.id}>{shortId(t.id)}</code>
          {t.groupId && (
            <>
              {' '}
              · <a href={`#/compare/${t.groupId}`}>compare group</a>
            </>
          )}
        </p>
        <h1 className="task-title">{t.prompt.split('\n', 1)[0] || '(empty prompt)'}</h1>
        <p className="task-facts">
          <StatusBadge status={t.status} />
          <span>{t.assignedAgent}</span>
          {t.model && <span>model {t.model}</span>}
          <span>priority {t.priority}</span>
          <span>
            attempt {t.attempt}/{t.maxAttempts}
          </span>
          {t.cancelRequested && t.status !== 'cancelled' && <span className="warn-text">cancelling…</span>}
        </p>
        {t.statusReason && <p className="muted">{t.statusReason}</p>}
        {t.progressNote && (
          <p className="progress-note" data-testid="progress-note">
            <span className="tag">progress</span> {t.progressNote}
          </p>
        )}
      </div>
    </div>
  );
}

function Actions({ t }: { t: Task }) {
  const { api, workspace, canWrite } = useSession();
  const qc = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [answer, setAnswer] = useState('');
  const done = (task: Task) => {
    applyTaskChange(qc, workspace, task);
    void qc.invalidateQueries({ queryKey: keys.task(task.id) });
    setConfirming(false);
  };
  const cancel = useMutation({ mutationFn: () => api.cancel(t.id), onSuccess: done });
  const retry = useMutation({ mutationFn: () => api.retry(t.id), onSuccess: done });
  const reply = useMutation({ mutationFn: (a: string) => api.answer(t.id, a), onSuccess: (task) => (done(task), setAnswer('')) });
  const error = cancel.error ?? retry.error ?? reply.error;

  if (!canWrite || t.actions.length === 0) return null;
  const submitAnswer = (e: FormEvent) => {
    e.preventDefault();
    if (answer.trim()) reply.mutate(answer.trim());
  };
  return (
    <div className="actions card">
      {t.actions.includes('answer') && (
        <form className="answer-form" onSubmit={submitAnswer} aria-labelledby="question-title">
          <h2 id="question-title">The agent asks</h2>
          <blockquote className="question" data-testid="question">
            {t.question ?? '(no question text)'}
          </blockquote>
          <label htmlFor="answer">Your answer</label>
          <textarea id="answer" rows={3} value={answer} onChange={(e) => setAnswer(e.target.value)} required />
          <button type="submit" className="primary" disabled={reply.isPending || !answer.trim()}>
            {reply.isPending ? 'Sending…' : 'Send answer'}
          </button>
          <p className="field-hint">The task goes back to the queue and the agent resumes its session with your answer.</p>
        </form>
      )}
      <div className="action-buttons">
        {t.actions.includes('retry') && (
          <button type="button" className="primary" onClick={() => retry.mutate()} disabled={retry.isPending}>
            {retry.isPending ? 'Retrying…' : 'Retry'}
          </button>
        )}
        {t.actions.includes('cancel') &&
          (confirming ? (
            <>
              <span>Stop this task{t.status === 'executing' ? ' and its agent process' : ''}?</span>
              <button type="button" className="danger" onClick={() => cancel.mutate()} disabled={cancel.isPending} autoFocus>
                {cancel.isPending ? 'Cancelling…' : 'Yes, cancel it'}
              </button>
              <button type="button" className="ghost" onClick={() => setConfirming(false)}>
                Keep running
              </button>
            </>
          ) : (
            <button type="button" className="danger-outline" onClick={() => setConfirming(true)}>
              Cancel task
            </button>
          ))}
      </div>
      {error && <Notice kind="error">{errorMessage(error)}</Notice>}
    </div>
  );
}

function Details({ t }: { t: Task }) {
  return (
    <section className="side-section">
      <h2>Task</h2>
      <dl className="facts">
        <dt>Id</dt>
        <dd>
          <code className="wrap">{t.id}</code>
        </dd>
        <dt>Workspace</dt>
        <dd>{t.workspaceId}</dd>
        <dt>Created</dt>
        <dd>{time(t.createdAt)}</dd>
        {t.finishedAt && (
          <>
            <dt>Finished</dt>
            <dd>{time(t.finishedAt)}</dd>
          </>
        )}
        {t.repo && (
          <>
            <dt>Repository</dt>
            <dd className="wrap">
              {t.repo}
              {t.baseRef && <> @ {t.baseRef}</>}
            </dd>
          </>
        )}
        {t.tokenBudget !== null && (
          <>
            <dt>Token budget</dt>
            <dd>{count(t.tokenBudget)}</dd>
          </>
        )}
        <dt>Prompt hash</dt>
        <dd>
          <code title={t.promptHash}>{t.promptHash.slice(0, 12)}</code>
        </dd>
      </dl>
      <details>
        <summary>Prompt</summary>
        <pre className="prompt">{t.prompt}</pre>
      </details>
      {t.answer && (
        <details>
          <summary>Your last answer</summary>
          <pre className="prompt">{t.answer}</pre>
        </details>
      )}
      {t.resultText && (
        <details>
          <summary>Final answer</summary>
          <pre className="prompt">{t.resultText}</pre>
        </details>
      )}
    </section>
  );
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function Usage({ runs, t }: { runs: TaskRun[]; t: Task }) {
  const withUsage = runs.filter((r) => r.usage);
  const sum = (k: string) => withUsage.reduce((n, r) => n + num(r.usage?.[k]), 0);
  const cost = runs.reduce<number | null>((n, r) => (r.costUsd === null ? n : (n ?? 0) + r.costUsd), null);
  const input = sum('inputTokens');
  const output = sum('outputTokens');
  const cacheRead = sum('cacheReadTokens');
  const cacheWrite = sum('cacheWriteTokens');
  const total = input + output + cacheRead + cacheWrite;
  return (
    <section className="side-section">
      <h2>Tokens and cost</h2>
      {withUsage.length === 0 && cost === null ? (
        <p className="muted small">{runs.length === 0 ? 'No attempt yet.' : 'The agent reported no usage (plain command agents do not).'}</p>
      ) : (
        <dl className="facts">
          <dt>Input</dt>
          <dd>{count(input)}</dd>
          <dt>Output</dt>
          <dd>{count(output)}</dd>
          {(cacheRead > 0 || cacheWrite > 0) && (
            <>
              <dt>Cache read / write</dt>
              <dd>
                {count(cacheRead)} / {count(cacheWrite)}
              </dd>
            </>
          )}
          <dt>Total</dt>
          <dd>
            {count(total)}
            {t.tokenBudget ? <span className="muted"> of {count(t.tokenBudget)} budget</span> : null}
          </dd>
          <dt>Cost</dt>
          <dd>{usd(cost)}</dd>
        </dl>
      )}
    </section>
  );
}

function Attempts({ t, runs, error }: { t: Task; runs: TaskRun[] | undefined; error: unknown }) {
  return (
    <section className="side-section" aria-labelledby="attempts-title">
      <h2 id="attempts-title">Attempts</h2>
      {error ? <ErrorNotice error={error} what="attempts" /> : null}
      {runs && runs.length === 0 && <p className="muted small">Not started yet.</p>}
      <ol className="runs">
        {(runs ?? [])
          .slice()
          .reverse()
          .map((r) => (
            <li key={r.id} className={`run run-${r.status}`} data-testid="run">
              <div className="run-head">
                <strong>#{r.attempt}</strong> <StatusBadge status={r.status} />
                <span className="muted small">
                  {time(r.startedAt)} · {duration(r.durationMs)}
                </span>
              </div>
              <dl className="facts compact">
                <dt>Agent</dt>
                <dd>
                  {r.agent}
                  {r.agentVersion && <span className="muted"> {r.agentVersion}</span>}
                </dd>
                <dt>Model</dt>
                <dd>{r.model ?? t.model ?? '—'}</dd>
                {r.pid !== null && (
                  <>
                    <dt>Process</dt>
                    <dd>pid {r.pid}</dd>
                  </>
                )}
                {(r.exitCode !== null || r.signal) && (
                  <>
                    <dt>Exit</dt>
                    <dd>{r.signal ? `signal ${r.signal}` : `code ${r.exitCode}`}</dd>
                  </>
                )}
                {r.failureClass && (
                  <>
                    <dt>Failure</dt>
                    <dd>
                      <span className="failure-class">{r.failureClass}</span>
                      {r.failureReason && <div className="small">{r.failureReason}</div>}
                    </dd>
                  </>
                )}
                <dt>Prompt hash</dt>
                <dd>
                  <code title={t.promptHash}>{t.promptHash.slice(0, 12)}</code>
                </dd>
              </dl>
              {r.stderrTail && (
                <details>
                  <summary>stderr (last lines)</summary>
                  <pre className="stderr">{r.stderrTail}</pre>
                </details>
              )}
            </li>
          ))}
      </ol>
    </section>
  );
}

function Diff({ runs }: { runs: TaskRun[] }) {
  const diff = [...runs].reverse().find((r) => r.diff)?.diff as DiffSummary | undefined;
  if (!diff) return null;
  return (
    <section className="side-section" aria-labelledby="diff-title">
      <h2 id="diff-title">Changes</h2>
      <DiffView diff={diff} />
    </section>
  );
}

function Suggestions({ t }: { t: Task }) {
  if (t.suggestions.length === 0) return null;
  return (
    <section className="side-section">
      <h2>Suggested skills</h2>
      <ul className="plain">
        {t.suggestions.map((s) => (
          <li key={s.id}>
            <a href={`#/skills?q=${encodeURIComponent(s.name)}`}>{s.name}</a> <span className="muted small">score {s.score.toFixed(2)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Timeline({ t }: { t: Task }) {
  const items = t.timeline ?? [];
  return (
    <section className="side-section" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <ol className="timeline" data-testid="timeline">
        {items.map((x, i) => (
          <li key={i}>
            <span className={`dot status-${x.to}`} aria-hidden="true" />
            <span>
              <strong>{x.to}</strong>
              <span className="muted small">
                {' '}
                {time(x.at)} · {x.actor}
                {x.attempt ? ` · attempt ${x.attempt}` : ''}
              </span>
              {x.reason && <div className="small">{x.reason}</div>}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}

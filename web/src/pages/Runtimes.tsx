/**
 * Runtimes: each daemon's state (online, throttled), CPU and memory from its
 * health reports, the runs it has now, and its agents with version and
 * validation state — a missing binary in red with the path that was tried.
 */
import { useQuery } from '@tanstack/react-query';
import { keys } from '../api/live.js';
import type { Daemon, DaemonAgent, Task } from '../api/types.js';
import { Empty, ErrorNotice, GetStarted, Loading, Sparkline, StatusBadge } from '../components/common.js';
import { ago, firstLine, mb, shortId } from '../format.js';
import { taskHref } from '../router.js';
import { apiBase, useSession } from '../session.js';

export function RuntimesPage() {
  const { api, workspace, instanceAdmin } = useSession();
  // An instance admin sees every runtime; others those that may serve their workspace.
  const daemons = useQuery({ queryKey: keys.daemons(workspace, instanceAdmin), queryFn: () => api.daemons({ all: instanceAdmin }), refetchInterval: 5_000 });
  const running = useQuery({ queryKey: ['tasks', workspace, 'running'], queryFn: () => api.tasks({ status: ['claimed', 'executing'], limit: 500 }), refetchInterval: 5_000 });

  if (daemons.isPending) return <Loading what="runtimes" />;
  if (daemons.error) return <ErrorNotice error={daemons.error} what="runtimes" />;
  const items = daemons.data.items;
  return (
    <div>
      <div className="page-head">
        <h1>Runtimes</h1>
        <p className="muted">{instanceAdmin ? 'Every runtime connected to this server.' : `Runtimes that may serve ${workspace}.`}</p>
      </div>
      {items.length === 0 ? (
        <Empty title="No runtime has connected yet">
          <p>A runtime (daemon) runs on a machine with agent CLIs installed, takes tasks from this server and streams their output back.</p>
          <GetStarted origin={apiBase()} />
        </Empty>
      ) : (
        <ul className="runtimes plain">
          {items.map((d) => (
            <li key={d.id}>
              <RuntimeCard d={d} running={(running.data?.items ?? []).filter((t) => t.daemonId === d.id)} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function RuntimeCard({ d, running }: { d: Daemon; running: Task[] }) {
  const { api, instanceAdmin, workspace } = useSession();
  const health = useQuery({ queryKey: keys.health(d.id), queryFn: () => api.daemonHealth(d.id), refetchInterval: 5_000, enabled: d.state === 'online' });
  const points = health.data?.items ?? [];
  const state = d.state === 'online' ? (d.throttled ? 'throttled' : 'online') : 'offline';
  const bad = d.agents.filter((a) => a.status !== 'ok').length;
  return (
    <article className="card runtime" aria-labelledby={`rt-${d.id}`} data-testid="runtime" data-daemon-id={d.id}>
      <header className="runtime-head">
        <h2 id={`rt-${d.id}`}>
          {d.name} <span className="muted small">on {d.hostname}</span>
        </h2>
        <StatusBadge status={state} />
        <span className="muted small">
          v{d.version} · {d.activeTasks}/{d.capacity} slots busy · {d.state === 'online' ? `connected ${ago(d.connectedAt)}` : `last seen ${ago(d.lastSeenAt)}`}
        </span>
      </header>
      {d.throttled && (
        <p className="warn-text small" role="note">
          Throttled: {d.throttleReason ?? 'over its CPU or memory threshold'}. It takes no new work until it reports being back under.
        </p>
      )}
      <div className="runtime-grid">
        <div className="metric">
          <span className="metric-label">CPU</span>
          <span className="metric-value">{d.health ? `${Math.round(d.health.cpu * 100)}%` : '—'}</span>
          <Sparkline values={points.map((p) => p.cpu * 100)} max={100} label={`CPU of ${d.name}, last ${points.length} reports`} />
        </div>
        <div className="metric">
          <span className="metric-label">Memory</span>
          <span className="metric-value">
            {d.health ? mb(d.health.memUsedMb) : '—'}
            {d.health?.memTotalMb ? <span className="muted small"> of {mb(d.health.memTotalMb)}</span> : null}
          </span>
          <Sparkline values={points.map((p) => p.memUsedMb)} max={d.health?.memTotalMb} label={`Memory of ${d.name}, last ${points.length} reports`} />
        </div>
        <div className="metric">
          <span className="metric-label">Agents' memory</span>
          <span className="metric-value">{d.health ? mb(d.health.agentsRssMb) : '—'}</span>
        </div>
      </div>
      <h3>
        Agents{' '}
        {bad > 0 && (
          <span className="bad-text small">
            {bad} cannot run
          </span>
        )}
      </h3>
      {d.agents.length === 0 ? (
        <p className="muted small">
          This runtime found no agent CLI. Install one on {d.hostname} (or name it in the config under <code>orchestrator.agents</code>) and run <code>switchyard daemon doctor</code> there.
        </p>
      ) : (
        <table className="agents">
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Version</th>
              <th scope="col">State</th>
              <th scope="col">Binary</th>
            </tr>
          </thead>
          <tbody>
            {d.agents.map((a) => (
              <AgentRow key={a.name} a={a} />
            ))}
          </tbody>
        </table>
      )}
      <h3>Active runs{instanceAdmin ? ` in ${workspace}` : ''}</h3>
      {running.length === 0 ? (
        <p className="muted small">None.</p>
      ) : (
        <ul className="plain">
          {running.map((t) => (
            <li key={t.id}>
              <a href={taskHref(t.id)}>
                <code>{shortId(t.id)}</code> {firstLine(t.prompt, 80)}
              </a>{' '}
              <span className="muted small">
                {t.assignedAgent} · {t.status}
              </span>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

function AgentRow({ a }: { a: DaemonAgent }) {
  const ok = a.status === 'ok';
  return (
    <tr className={ok ? 'agent-ok' : 'agent-bad'} data-testid="agent-row" data-agent={a.name} data-agent-status={a.status}>
      <th scope="row">{a.name}</th>
      <td>{a.version ?? '—'}</td>
      <td>
        <span className={ok ? 'ok-text' : 'bad-text'}>{a.status.replace('_', ' ')}</span>
        {a.reason && <div className="small">{a.reason}</div>}
      </td>
      <td>
        <code className="wrap">{a.binary ?? '(not found on PATH)'}</code>
        {!ok && <div className="small muted">path tried · checked {ago(a.checkedAt)}</div>}
      </td>
    </tr>
  );
}

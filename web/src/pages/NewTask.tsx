/**
 * New task. Only agents the workspace allows are offered: its allowedAgents,
 * or — when the workspace allows any (null) — the agents its runtimes report
 * as usable. A warning says why the others are not offered. Choosing more
 * than one agent makes a comparison group (POST /tasks with `agents`).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../api/http.js';
import { applyTaskChange, keys } from '../api/live.js';
import type { CreateTaskBody, Daemon } from '../api/types.js';
import { ErrorNotice, GetStarted, Loading, Notice } from '../components/common.js';
import { navigate, taskHref } from '../router.js';
import { apiBase, useSession } from '../session.js';

interface AgentChoice {
  name: string;
  /** Online runtimes that have it working. */
  runtimes: string[];
  /** Why a runtime cannot run it (missing binary, …). */
  problems: string[];
}

export function agentChoices(daemons: Daemon[]): Map<string, AgentChoice> {
  const m = new Map<string, AgentChoice>();
  for (const d of daemons) {
    for (const a of d.agents) {
      const c = m.get(a.name) ?? { name: a.name, runtimes: [], problems: [] };
      if (a.status === 'ok' && d.state === 'online') c.runtimes.push(d.name);
      else if (a.status !== 'ok') c.problems.push(`${d.name}: ${a.status}${a.binary ? ` (${a.binary})` : ''}`);
      m.set(a.name, c);
    }
  }
  return m;
}

export function NewTaskPage() {
  const { api, workspace, canWrite } = useSession();
  const qc = useQueryClient();
  const ws = useQuery({ queryKey: keys.workspace(workspace), queryFn: () => api.workspace(workspace) });
  const daemons = useQuery({ queryKey: keys.daemons(workspace, false), queryFn: () => api.daemons() });

  const [prompt, setPrompt] = useState('');
  const [agent, setAgent] = useState('');
  const [model, setModel] = useState('');
  const [priority, setPriority] = useState('0');
  const [repo, setRepo] = useState('');
  const [baseRef, setBaseRef] = useState('');
  const [budget, setBudget] = useState('');
  /** More agents for a comparison group (one task each, same prompt). */
  const [others, setOthers] = useState<string[]>([]);

  const choices = useMemo(() => agentChoices(daemons.data?.items ?? []), [daemons.data]);
  const allowed = ws.data?.allowedAgents ?? null;
  const offered = useMemo(() => {
    if (allowed) return [...allowed].sort();
    return [...choices.values()].filter((c) => c.runtimes.length > 0).map((c) => c.name).sort();
  }, [allowed, choices]);
  const notOffered = useMemo(() => [...choices.keys()].filter((n) => !offered.includes(n)).sort(), [choices, offered]);
  const selected = agent && offered.includes(agent) ? agent : (offered[0] ?? '');
  const selectedChoice = choices.get(selected);

  const compared = others.filter((o) => o !== selected && offered.includes(o));
  const create = useMutation({
    mutationFn: (body: CreateTaskBody) => api.createTask(body),
    onSuccess: (created) => {
      if ('tasks' in created) {
        for (const t of created.tasks) applyTaskChange(qc, workspace, t);
        navigate(`/compare/${created.id}`);
        return;
      }
      applyTaskChange(qc, workspace, created);
      qc.setQueryData(keys.task(created.id), created);
      navigate(taskHref(created.id));
    },
  });

  if (ws.isPending || daemons.isPending) return <Loading what="the workspace's agents" />;
  if (ws.error) return <ErrorNotice error={ws.error} what="the workspace" />;
  if (!canWrite) {
    return (
      <Notice kind="warn" title="Your token can only read">
        Creating tasks needs a member or admin token of this workspace.
      </Notice>
    );
  }

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: CreateTaskBody = compared.length > 0 ? { agents: [selected, ...compared], prompt, priority: Number(priority) || 0 } : { assignedAgent: selected, prompt, priority: Number(priority) || 0 };
    if (model.trim()) body.model = model.trim();
    if (repo.trim()) body.repo = repo.trim();
    if (baseRef.trim()) body.baseRef = baseRef.trim();
    if (budget.trim()) body.tokenBudget = Number(budget);
    create.mutate(body);
  };

  const fieldErrors = create.error instanceof ApiError && Array.isArray(create.error.details) ? (create.error.details as { path: string; message: string }[]) : [];

  return (
    <div className="narrow-page">
      <h1>New task</h1>
      <p className="muted">In workspace <strong>{workspace}</strong>.</p>
      {offered.length === 0 ? (
        <Notice kind="warn" title="No agent to offer">
          {allowed ? 'This workspace allows no agent.' : 'No connected runtime reports a working agent CLI.'} Start a runtime with an agent installed:
          <GetStarted origin={apiBase()} compact />
        </Notice>
      ) : (
        (allowed || notOffered.length > 0) && (
          <Notice kind="info" title="Why some agents are not offered" testId="agents-warning">
            {allowed ? (
              <>
                This workspace allows only <strong>{allowed.join(', ')}</strong> (Settings → allowed agents; a workspace admin can change it).
                {notOffered.length > 0 && <> Runtimes also have {notOffered.join(', ')}, which this workspace does not allow.</>}
              </>
            ) : (
              <>
                This workspace allows any agent its runtimes can run. Not offered, because no online runtime can run them now:{' '}
                {notOffered.map((n) => (
                  <span key={n} className="nowrap">
                    <strong>{n}</strong> ({choices.get(n)?.problems.join('; ') || 'runtime offline'}){' '}
                  </span>
                ))}
              </>
            )}
          </Notice>
        )
      )}
      <form className="form card" onSubmit={submit}>
        <label htmlFor="prompt">Prompt</label>
        <textarea id="prompt" rows={6} required value={prompt} onChange={(e) => setPrompt(e.target.value)} placeholder="What should the agent do?" />

        <div className="grid-2">
          <div>
            <label htmlFor="agent">Agent</label>
            <select id="agent" value={selected} onChange={(e) => setAgent(e.target.value)} required disabled={offered.length === 0}>
              {offered.map((n) => (
                <option key={n} value={n}>
                  {n}
                  {allowed && !(choices.get(n)?.runtimes.length ?? 0) ? ' — no runtime has it now' : ''}
                </option>
              ))}
            </select>
            {selected && !(selectedChoice?.runtimes.length ?? 0) && (
              <p className="field-hint warn">No online runtime has {selected} now: the task will wait in queued until one connects.</p>
            )}
            {selectedChoice && selectedChoice.runtimes.length > 0 && <p className="field-hint">Runs on: {selectedChoice.runtimes.join(', ')}</p>}
            {offered.length > 1 && (
              <details className="compare-with" open={compared.length > 0}>
                <summary>Compare with other agents</summary>
                <fieldset>
                  <legend className="field-hint">The same prompt goes to each agent chosen here as well; the comparison page shows them side by side.</legend>
                  {offered
                    .filter((n) => n !== selected)
                    .map((n) => (
                      <label key={n} className="check">
                        <input
                          type="checkbox"
                          checked={compared.includes(n)}
                          onChange={(e) => setOthers((o) => (e.target.checked ? [...o, n] : o.filter((x) => x !== n)))}
                        />{' '}
                        {n}
                      </label>
                    ))}
                </fieldset>
              </details>
            )}
          </div>
          <div>
            <label htmlFor="model">Model (optional)</label>
            <input id="model" value={model} onChange={(e) => setModel(e.target.value)} placeholder="the agent's default" />
          </div>
          <div>
            <label htmlFor="priority">Priority</label>
            <input id="priority" type="number" min={-1000} max={1000} step={1} value={priority} onChange={(e) => setPriority(e.target.value)} />
            <p className="field-hint">Higher runs first; −1000 to 1000.</p>
          </div>
          <div>
            <label htmlFor="budget">Token budget (optional)</label>
            <input id="budget" type="number" min={1} step={1} value={budget} onChange={(e) => setBudget(e.target.value)} placeholder="no limit" />
            <p className="field-hint">The run is stopped when the agent has used this many tokens.</p>
          </div>
          <div>
            <label htmlFor="repo">Repository (optional)</label>
            <input id="repo" value={repo} onChange={(e) => setRepo(e.target.value)} placeholder="https://github.com/org/repo.git" />
          </div>
          <div>
            <label htmlFor="baseRef">Base ref (optional)</label>
            <input id="baseRef" value={baseRef} onChange={(e) => setBaseRef(e.target.value)} placeholder="main" />
          </div>
        </div>
        {create.error && (
          <Notice kind="error" title="The task was not created">
            {errorMessage(create.error)}
            {fieldErrors.length > 1 && (
              <ul>
                {fieldErrors.map((d) => (
                  <li key={d.path}>
                    {d.path}: {d.message}
                  </li>
                ))}
              </ul>
            )}
          </Notice>
        )}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={create.isPending || !selected || !prompt.trim()}>
            {create.isPending ? 'Creating…' : compared.length > 0 ? `Create ${compared.length + 1} tasks to compare` : 'Create task'}
          </button>
          <a href="#/board" className="button ghost">
            Cancel
          </a>
        </div>
      </form>
    </div>
  );
}

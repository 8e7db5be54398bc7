/**
 * Settings: the workspace's settings (PATCH /workspaces/:id) and its tokens
 * (create — the secret is shown once — and revoke), and its webhooks
 * (./Webhooks.tsx). An instance admin also manages instance-wide admin and
 * daemon tokens.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { errorMessage } from '../api/http.js';
import { keys } from '../api/live.js';
import { WORKSPACE_TOKEN_ROLES, type CreatedToken, type Token, type UpdateWorkspaceBody, type Workspace } from '../api/types.js';
import { Command, ErrorNotice, Loading, Notice } from '../components/common.js';
import { ago } from '../format.js';
import { apiBase, useSession } from '../session.js';
import { WebhooksSection } from './Webhooks.js';

export function SettingsPage() {
  const { api, workspace, canAdmin, instanceAdmin, me } = useSession();
  const ws = useQuery({ queryKey: keys.workspace(workspace), queryFn: () => api.workspace(workspace) });
  return (
    <div className="narrow-page">
      <h1>Settings</h1>
      <p className="muted">
        Signed in as <strong>{me.name}</strong> ({instanceAdmin ? 'instance admin' : `${me.role} of ${workspace}`}).
      </p>
      {ws.isPending ? <Loading what="the workspace" /> : ws.error ? <ErrorNotice error={ws.error} what="the workspace" /> : <WorkspaceForm ws={ws.data} editable={canAdmin} />}
      {canAdmin ? (
        <TokensSection
          title={`Tokens of ${workspace}`}
          scope={workspace}
          roles={WORKSPACE_TOKEN_ROLES}
          list={() => api.workspaceTokens(workspace)}
          create={(b) => api.createWorkspaceToken(workspace, b)}
        />
      ) : (
        <Notice title="Tokens">Managing tokens needs an admin token of this workspace.</Notice>
      )}
      <WebhooksSection />
      {instanceAdmin && (
        <TokensSection
          title="Instance tokens"
          scope="*"
          roles={['admin', 'daemon'] as const}
          note="Instance admin tokens act in every workspace; instance daemon tokens let a runtime serve all of them."
          list={() => api.instanceTokens()}
          create={(b) => api.createInstanceToken(b)}
        />
      )}
    </div>
  );
}

function WorkspaceForm({ ws, editable }: { ws: Workspace; editable: boolean }) {
  const { api } = useSession();
  const qc = useQueryClient();
  const [name, setName] = useState(ws.name);
  const [anyAgent, setAnyAgent] = useState(ws.allowedAgents === null);
  const [agents, setAgents] = useState((ws.allowedAgents ?? []).join(', '));
  const [maxConcurrent, setMaxConcurrent] = useState(String(ws.maxConcurrentTasks));
  const [retention, setRetention] = useState(String(ws.skillRetentionDays));
  const [audit, setAudit] = useState(ws.auditLogEnabled);
  useEffect(() => {
    setName(ws.name);
    setAnyAgent(ws.allowedAgents === null);
    setAgents((ws.allowedAgents ?? []).join(', '));
    setMaxConcurrent(String(ws.maxConcurrentTasks));
    setRetention(String(ws.skillRetentionDays));
    setAudit(ws.auditLogEnabled);
  }, [ws]);
  const save = useMutation({
    mutationFn: (body: UpdateWorkspaceBody) => api.updateWorkspace(ws.id, body),
    onSuccess: (updated) => {
      qc.setQueryData(keys.workspace(ws.id), updated);
      void qc.invalidateQueries({ queryKey: keys.workspaces() });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({
      name: name.trim(),
      allowedAgents: anyAgent
        ? null
        : agents
            .split(/[\s,]+/)
            .map((a) => a.trim())
            .filter(Boolean),
      maxConcurrentTasks: Number(maxConcurrent),
      skillRetentionDays: Number(retention),
      auditLogEnabled: audit,
    });
  };
  return (
    <form className="form card" onSubmit={submit} aria-labelledby="ws-title">
      <h2 id="ws-title">
        Workspace <code>{ws.id}</code>
      </h2>
      <fieldset disabled={!editable || save.isPending}>
        <label htmlFor="ws-name">Name</label>
        <input id="ws-name" value={name} onChange={(e) => setName(e.target.value)} required />

        <span className="label">Allowed agents</span>
        <label className="check">
          <input type="checkbox" checked={anyAgent} onChange={(e) => setAnyAgent(e.target.checked)} /> Any agent a runtime offers
        </label>
        {!anyAgent && (
          <>
            <label htmlFor="ws-agents" className="visually-hidden">
              Allowed agent names
            </label>
            <input id="ws-agents" value={agents} onChange={(e) => setAgents(e.target.value)} placeholder="claude-code, codex" />
            <p className="field-hint">Names separated by commas. Tasks for any other agent are refused (422).</p>
          </>
        )}
        <div className="grid-2">
          <div>
            <label htmlFor="ws-max">Concurrent tasks (max)</label>
            <input id="ws-max" type="number" min={1} max={10000} value={maxConcurrent} onChange={(e) => setMaxConcurrent(e.target.value)} required />
            <p className="field-hint">Across all runtimes.</p>
          </div>
          <div>
            <label htmlFor="ws-retention">Skill retention (days)</label>
            <input id="ws-retention" type="number" min={1} max={36500} value={retention} onChange={(e) => setRetention(e.target.value)} required />
          </div>
        </div>
        <label className="check">
          <input type="checkbox" checked={audit} onChange={(e) => setAudit(e.target.checked)} /> Audit log
        </label>
      </fieldset>
      {!editable && <p className="muted small">Changing these needs an admin token.</p>}
      {save.error && <Notice kind="error" title="Not saved">{errorMessage(save.error)}</Notice>}
      {save.isSuccess && !save.isPending && <Notice kind="ok">Saved.</Notice>}
      {editable && (
        <div className="form-actions">
          <button type="submit" className="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      )}
    </form>
  );
}

function TokensSection<R extends string>(props: {
  title: string;
  scope: string;
  roles: readonly R[];
  note?: string;
  list(): Promise<{ items: Token[] }>;
  create(body: { role: R; name: string; expiresInDays?: number }): Promise<CreatedToken>;
}) {
  const { api, me } = useSession();
  const qc = useQueryClient();
  const tokens = useQuery({ queryKey: keys.tokens(props.scope), queryFn: props.list });
  const [role, setRole] = useState<R>(props.roles.includes('member' as R) ? ('member' as R) : props.roles[0]!);
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  const [created, setCreated] = useState<CreatedToken>();
  const [revoking, setRevoking] = useState<string>();
  const create = useMutation({
    mutationFn: () => props.create({ role, name: name.trim(), ...(days ? { expiresInDays: Number(days) } : {}) }),
    onSuccess: (t) => {
      setCreated(t);
      setName('');
      void qc.invalidateQueries({ queryKey: keys.tokens(props.scope) });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.revokeToken(id),
    onSuccess: () => {
      setRevoking(undefined);
      void qc.invalidateQueries({ queryKey: keys.tokens(props.scope) });
    },
  });
  const titleId = `tokens-${props.scope === '*' ? 'instance' : 'workspace'}`;
  return (
    <section className="card" aria-labelledby={titleId}>
      <h2 id={titleId}>{props.title}</h2>
      {props.note && <p className="muted small">{props.note}</p>}
      {created && (
        <Notice kind="ok" title={`Token “${created.name}” created — copy it now, it is not shown again`} testId="new-token">
          <Command>{created.token}</Command>
          {created.role === 'daemon' && (
            <>
              <p>Start a runtime with it:</p>
              <Command>{`switchyard daemon --url ${apiBase()} --token ${created.token}`}</Command>
            </>
          )}
          <button type="button" className="ghost small" onClick={() => setCreated(undefined)}>
            Done, hide it
          </button>
        </Notice>
      )}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) create.mutate();
        }}
      >
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="ci, build-box, alice" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as R)}>
            {props.roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Expires in (days)
          <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} placeholder="never" />
        </label>
        <button type="submit" className="primary" disabled={create.isPending || !name.trim()}>
          Create token
        </button>
      </form>
      {create.error && <Notice kind="error">{errorMessage(create.error)}</Notice>}
      {revoke.error && <Notice kind="error">{errorMessage(revoke.error)}</Notice>}
      {tokens.isPending ? (
        <Loading what="tokens" />
      ) : tokens.error ? (
        <ErrorNotice error={tokens.error} what="tokens" />
      ) : (
        <div className="table-scroll">
          <table className="tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Prefix</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.items.length === 0 && (
                <tr>
                  <td colSpan={6} className="muted">
                    No tokens yet.
                  </td>
                </tr>
              )}
              {tokens.data.items.map((t) => (
                <tr key={t.id} className={t.revokedAt ? 'revoked' : undefined}>
                  <th scope="row">
                    {t.name}
                    {t.id === me.tokenId && <span className="muted small"> (this session)</span>}
                  </th>
                  <td>{t.role}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>{t.lastUsedAt ? ago(t.lastUsedAt) : 'never'}</td>
                  <td>{t.expiresAt ? ago(t.expiresAt) : 'never'}</td>
                  <td>
                    <div className="row-actions">
                      {t.revokedAt ? (
                        <span className="muted small">revoked {ago(t.revokedAt)}</span>
                      ) : revoking === t.id ? (
                        <>
                          <button type="button" className="danger small" onClick={() => revoke.mutate(t.id)} disabled={revoke.isPending} autoFocus>
                            Revoke now
                          </button>
                          <button type="button" className="ghost small" onClick={() => setRevoking(undefined)}>
                            Keep
                          </button>
                        </>
                      ) : (
                        <button type="button" className="danger-outline small" onClick={() => setRevoking(t.id)} aria-label={`Revoke token ${t.name}`}>
                          Revoke
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

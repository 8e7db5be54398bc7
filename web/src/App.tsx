/**
 * The shell: sign-in when there is no token, else the header (navigation,
 * workspace switcher, live-connection state, theme) and the page of the
 * current route.
 */
import { useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { keys, useLiveWorkspace } from './api/live.js';
import { takeTokenFromUrl, storedToken } from './auth.js';
import { ErrorNotice, Loading } from './components/common.js';
import { BoardPage } from './pages/Board.js';
import { ComparePage } from './pages/Compare.js';
import { FailuresPage } from './pages/Failures.js';
import { NewTaskPage } from './pages/NewTask.js';
import { RuntimesPage } from './pages/Runtimes.js';
import { SettingsPage } from './pages/Settings.js';
import { SignInPage } from './pages/SignIn.js';
import { SkillsPage } from './pages/Skills.js';
import { TaskPage } from './pages/Task.js';
import { parseRoute, useHash, type Route } from './router.js';
import { SessionProvider, useSession } from './session.js';
import { useStreamStatus } from './stream/useStream.js';
import { useTheme } from './theme.js';

export function App() {
  // #token=… wins over a remembered token (it is how `switchyard up` signs a browser in).
  const [token, setToken] = useState<string | null>(() => takeTokenFromUrl() ?? storedToken());
  const [signedOutReason, setSignedOutReason] = useState<string | undefined>();
  const onSignOut = useCallback((reason?: string) => {
    setSignedOutReason(reason);
    setToken(null);
  }, []);
  // A #token=… link opened while the app is already running.
  useEffect(() => {
    const onHash = () => {
      const t = takeTokenFromUrl();
      if (t) setToken(t);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  if (!token) {
    return (
      <SignInPage
        message={signedOutReason}
        onSignedIn={(t) => {
          setSignedOutReason(undefined);
          setToken(t);
        }}
      />
    );
  }
  return (
    <SessionProvider
      key={token}
      token={token}
      onSignOut={onSignOut}
      fallback={({ loading, error }) => (
        <main className="centered">{loading ? <Loading what="your session" /> : <ErrorNotice error={error} what="your session" />}</main>
      )}
    >
      <Shell />
    </SessionProvider>
  );
}

const NAV: { name: Route['name']; href: string; label: string }[] = [
  { name: 'board', href: '#/board', label: 'Board' },
  { name: 'new', href: '#/new', label: 'New task' },
  { name: 'runtimes', href: '#/runtimes', label: 'Runtimes' },
  { name: 'compare', href: '#/compare', label: 'Compare' },
  { name: 'skills', href: '#/skills', label: 'Skills' },
  { name: 'failures', href: '#/failures', label: 'Failures' },
  { name: 'settings', href: '#/settings', label: 'Settings' },
];

function Shell() {
  useLiveWorkspace();
  const route = parseRoute(useHash());
  const [theme, nextTheme] = useTheme();
  const { signOut } = useSession();
  const current = route.name === 'task' ? 'board' : route.name;
  return (
    <>
      <a className="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href="#/board">
          Switchyard
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.name}>
                <a href={n.href} aria-current={current === n.name ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-tools">
          <WorkspaceSwitcher />
          <StreamIndicator />
          <button type="button" className="ghost small" onClick={nextTheme} title="Theme: system, light or dark" aria-label={`Theme: ${theme}. Change theme`}>
            {theme === 'system' ? '◐ Auto' : theme === 'light' ? '☀ Light' : '☾ Dark'}
          </button>
          <button type="button" className="ghost small" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }): ReactNode {
  switch (route.name) {
    case 'board':
      return <BoardPage />;
    case 'new':
      return <NewTaskPage />;
    case 'task':
      return <TaskPage key={route.id} id={route.id} />;
    case 'compare':
      return <ComparePage id={route.id} />;
    case 'runtimes':
      return <RuntimesPage />;
    case 'skills':
      return <SkillsPage initialQuery={route.q} />;
    case 'failures':
      return <FailuresPage />;
    case 'settings':
      return <SettingsPage />;
    case 'notFound':
      return (
        <div className="empty">
          <h2>No page at {route.path}</h2>
          <p>
            <a href="#/board">Go to the board</a>
          </p>
        </div>
      );
  }
}

function WorkspaceSwitcher() {
  const { instanceAdmin, workspace, setWorkspace, api, me } = useSession();
  const list = useQuery({ queryKey: keys.workspaces(), queryFn: () => api.workspaces(), enabled: instanceAdmin, staleTime: 30_000 });
  const items = list.data?.items;
  // A remembered workspace that was deleted since: back to the server's default.
  useEffect(() => {
    if (items && items.length > 0 && !items.some((w) => w.id === workspace)) setWorkspace(me.defaultWorkspace);
  }, [items, workspace, setWorkspace, me.defaultWorkspace]);
  if (!instanceAdmin) {
    return (
      <span className="workspace-label" title={`Signed in as ${me.name} (${me.role})`}>
        {workspace} · {me.role}
      </span>
    );
  }
  return (
    <label className="workspace-switcher">
      <span className="visually-hidden">Workspace</span>
      <select value={workspace} onChange={(e) => setWorkspace(e.target.value)} aria-label="Workspace">
        {(items ?? [{ id: workspace, name: workspace }]).map((w) => (
          <option key={w.id} value={w.id}>
            {w.id}
          </option>
        ))}
      </select>
    </label>
  );
}

function StreamIndicator() {
  const { stream } = useSession();
  const s = useStreamStatus(stream);
  const [, tick] = useState(0);
  useEffect(() => {
    if (s.state !== 'reconnecting') return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [s.state]);
  const label =
    s.state === 'open'
      ? 'Live'
      : s.state === 'reconnecting'
        ? `Reconnecting${s.retryAt ? ` in ${Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000))} s` : '…'}`
        : s.state === 'connecting'
          ? 'Connecting…'
          : s.state === 'unauthorized'
            ? 'Token refused'
            : 'Offline';
  return (
    <span className={`live live-${s.state}`} role="status" data-testid="stream-state" data-state={s.state} title={s.reason ?? 'Live updates from the server'}>
      <span className="dot" aria-hidden="true" />
      {label}
      {s.state === 'reconnecting' && (
        <button type="button" className="link small" onClick={() => stream.reconnectNow()}>
          retry now
        </button>
      )}
    </span>
  );
}

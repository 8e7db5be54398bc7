/**
 * The signed-in session: the token, who it is (GET /me), the workspace being
 * looked at, the typed API and the live stream. Pages get them with
 * `useSession()`.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { createApi, type Api } from './api/endpoints.js';
import { createHttp } from './api/http.js';
import type { Whoami } from './api/types.js';
import { forgetToken } from './auth.js';
import { createStreamClient, type OpenSocket, type StreamClient } from './stream/client.js';
import { Transcript } from './stream/transcript.js';

export interface Session {
  token: string;
  me: Whoami;
  /** An instance admin (the token `switchyard up` makes): may look at any workspace. */
  instanceAdmin: boolean;
  /** The workspace shown. */
  workspace: string;
  setWorkspace(id: string): void;
  api: Api;
  stream: StreamClient;
  transcript(taskId: string): Transcript;
  /** Workspace role of the token ('admin' for an instance admin). */
  canWrite: boolean;
  canAdmin: boolean;
  signOut(reason?: string): void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside <SessionProvider>');
  return s;
}

const WORKSPACE_KEY = 'switchyard.workspace';
const TRANSCRIPTS_KEPT = 20;

/** The browser's WebSocket behind the stream client's small socket interface. */
const openBrowserSocket: OpenSocket = (url, h) => {
  const ws = new WebSocket(url);
  ws.onopen = () => h.onOpen();
  ws.onmessage = (e: MessageEvent) => {
    if (typeof e.data === 'string') h.onMessage(e.data);
  };
  ws.onclose = (e: CloseEvent) => h.onClose(e.code, e.reason);
  return { send: (d) => ws.send(d), close: (code, reason) => ws.close(code, reason) };
};

export function streamUrl(): string {
  const base = new URL('api/v1/stream', new URL('.', window.location.href));
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  base.hash = '';
  return base.toString();
}

/** Base of the API: the folder the dashboard was loaded from (works under a proxy's sub-path). */
export function apiBase(): string {
  return new URL('.', window.location.href).toString().replace(/\/$/, '');
}

export function SessionProvider(props: { token: string; onSignOut(reason?: string): void; children: ReactNode; fallback(state: { loading: boolean; error?: unknown }): ReactNode }) {
  const { token, onSignOut } = props;
  const queryClient = useQueryClient();
  const signOut = useCallback(
    (reason?: string) => {
      forgetToken();
      queryClient.clear();
      onSignOut(reason);
    },
    [onSignOut, queryClient],
  );
  const http = useMemo(
    () => createHttp({ baseUrl: apiBase(), token, onUnauthorized: () => signOut('The server refused the token (unknown, revoked or expired). Sign in again.') }),
    [token, signOut],
  );
  const me = useQuery({ queryKey: ['me', token], queryFn: () => createApi(http, undefined).me(), staleTime: 60_000, retry: 1 });

  const [stream, setStream] = useState<StreamClient | null>(null);
  useEffect(() => {
    const s = createStreamClient({ url: streamUrl(), token, openSocket: openBrowserSocket });
    setStream(s);
    // Back online after sleep or a network change: try now instead of waiting out the backoff.
    const online = () => s.reconnectNow();
    window.addEventListener('online', online);
    // After a drop, whatever the page shows from REST may be stale: refetch it.
    const off = s.onResume(() => void queryClient.invalidateQueries());
    const offStatus = s.onStatus((st) => {
      if (st.state === 'unauthorized') signOut('The server refused the token (unknown, revoked or expired). Sign in again.');
    });
    return () => {
      off();
      offStatus();
      window.removeEventListener('online', online);
      s.close();
    };
  }, [token, queryClient, signOut]);

  const [transcripts] = useState(() => new Map<string, Transcript>());
  const transcript = useCallback(
    (taskId: string) => {
      let t = transcripts.get(taskId);
      if (t) {
        // Most recently used last, so the oldest is the first to go.
        transcripts.delete(taskId);
      } else {
        t = new Transcript();
        if (transcripts.size >= TRANSCRIPTS_KEPT) transcripts.delete(transcripts.keys().next().value!);
      }
      transcripts.set(taskId, t);
      return t;
    },
    [transcripts],
  );

  const [chosen, setChosen] = useState<string | null>(() => {
    try {
      return localStorage.getItem(WORKSPACE_KEY);
    } catch {
      return null;
    }
  });
  const setWorkspace = useCallback((id: string) => {
    setChosen(id);
    try {
      localStorage.setItem(WORKSPACE_KEY, id);
    } catch {
      // not remembered
    }
  }, []);

  const whoami = me.data;
  useEffect(() => {
    if (whoami && !['admin', 'member', 'viewer'].includes(whoami.role)) {
      signOut(`This is a ${whoami.role} token; it connects runtimes, not people. Sign in with an admin, member or viewer token.`);
    }
  }, [whoami, signOut]);
  const instanceAdmin = !!whoami && whoami.role === 'admin' && whoami.workspaceId === null;
  const workspace = whoami ? (instanceAdmin ? (chosen ?? whoami.defaultWorkspace) : (whoami.workspaceId ?? whoami.defaultWorkspace)) : '';
  const api = useMemo(() => createApi(http, instanceAdmin ? workspace : undefined), [http, instanceAdmin, workspace]);

  const value = useMemo<Session | null>(() => {
    if (!whoami || !stream) return null;
    return {
      token,
      me: whoami,
      instanceAdmin,
      workspace,
      setWorkspace,
      api,
      stream,
      transcript,
      canWrite: whoami.role === 'admin' || whoami.role === 'member',
      canAdmin: whoami.role === 'admin',
      signOut,
    };
  }, [whoami, stream, token, instanceAdmin, workspace, setWorkspace, api, transcript, signOut]);

  if (!value) return <>{props.fallback({ loading: me.isPending, error: me.error ?? undefined })}</>;
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

import { useState, type FormEvent } from 'react';
import { createApi } from '../api/endpoints.js';
import { ApiError, createHttp, errorMessage } from '../api/http.js';
import { storeToken } from '../auth.js';
import { Notice } from '../components/common.js';
import { apiBase } from '../session.js';

/** Sign-in with a token; the token is checked with GET /me before it is remembered. */
export function SignInPage({ message, onSignedIn }: { message?: string; onSignedIn(token: string): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError('Paste a token first.');
    setBusy(true);
    setError(undefined);
    try {
      const me = await createApi(createHttp({ baseUrl: apiBase(), token: t }), undefined).me();
      if (!['admin', 'member', 'viewer'].includes(me.role)) {
        setError(`This is a ${me.role} token; it connects runtimes, not people. Use an admin, member or viewer token.`);
        return;
      }
      storeToken(t);
      onSignedIn(t);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'The server does not know this token (or it was revoked or has expired).' : errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Switchyard</h1>
        {message && <Notice kind="warn">{message}</Notice>}
        <label htmlFor="token">Token</label>
        <input id="token" type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} autoFocus />
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <div className="muted small signin-help">
          <p>
            <code>switchyard up</code> prints a link that signs you in (<code>http://…/#token=…</code>). The admin token is also in <code>~/.switchyard/admin-token</code>.
          </p>
          <p>
            A token for one workspace: <code>switchyard token create --workspace &lt;id&gt; --role member --name &lt;you&gt;</code>
          </p>
          <p>The token is remembered in this browser until you sign out.</p>
        </div>
      </form>
    </main>
  );
}

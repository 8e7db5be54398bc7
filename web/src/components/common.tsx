/** Small shared pieces: status badges, notices, empty states, command snippets. */
import { useState, type ReactNode } from 'react';
import { errorMessage } from '../api/http.js';

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

export function Notice({ kind = 'info', title, children, testId }: { kind?: 'info' | 'warn' | 'error' | 'ok'; title?: ReactNode; children?: ReactNode; testId?: string }) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {title && <strong className="notice-title">{title}</strong>}
      {children && <div>{children}</div>}
    </div>
  );
}

export function ErrorNotice({ error, what }: { error: unknown; what?: string }) {
  return (
    <Notice kind="error" title={what ? `Could not load ${what}` : 'Something went wrong'}>
      {errorMessage(error)}
    </Notice>
  );
}

/** A snippet with a copy button; `copyLabel` names what is copied for screen readers (a secret is not a command). */
export function Command({ children, copyLabel = 'Copy command' }: { children: string; copyLabel?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(children);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // clipboard refused (insecure origin): the text is selectable
    }
  };
  return (
    <div className="command">
      <pre>
        <code>{children}</code>
      </pre>
      <button type="button" className="ghost small" onClick={copy} aria-label={copyLabel}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <p className="muted" aria-busy="true">
      Loading{what ? ` ${what}` : ''}…
    </p>
  );
}

/** A tiny line chart of recent values (CPU, memory) in plain SVG. */
export function Sparkline({ values, max, label, width = 120, height = 28 }: { values: number[]; max?: number; label: string; width?: number; height?: number }) {
  if (values.length < 2) return <span className="muted small">not enough reports yet</span>;
  const top = max ?? Math.max(...values, 1);
  const step = width / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (Math.min(v, top) / top) * (height - 4)).toFixed(1)}`).join(' ');
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <rect width={width} height={height} rx="3" fill="currentColor" opacity="0.08" />
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}

/** Starting a runtime and installing an agent: what a new user needs first (issue 6). */
export function GetStarted({ origin, compact = false }: { origin: string; compact?: boolean }) {
  return (
    <div className="get-started">
      <h3>1. Start a runtime (daemon) where your agent CLIs are installed</h3>
      <p>Create a daemon token, then start a daemon with it on that machine:</p>
      <Command>{`switchyard token create --role daemon --name my-laptop`}</Command>
      <Command>{`switchyard daemon --url ${origin} --token <daemon-token>`}</Command>
      <p className="muted small">
        <code>switchyard up</code> on this machine already starts a local daemon. Settings → Tokens can make a daemon token too.
      </p>
      <h3>2. Install an agent CLI on that machine</h3>
      {!compact && (
        <ul className="plain">
          <li>
            Claude Code: <code>npm install -g @anthropic-ai/claude-code</code>
          </li>
          <li>
            Codex: <code>npm install -g @openai/codex</code>
          </li>
          <li>
            Gemini CLI: <code>npm install -g @google/gemini-cli</code>
          </li>
          <li>
            OpenCode: <code>npm install -g opencode-ai</code>
          </li>
          <li>Any other command: list it under <code>orchestrator.agents</code> in the config with its <code>binary</code>.</li>
        </ul>
      )}
      <h3>3. Check what the daemon found</h3>
      <Command>{`switchyard daemon doctor`}</Command>
      <p className="muted small">It lists each agent CLI with its version, or why it cannot be used (missing binary, not executable, version check failed).</p>
    </div>
  );
}

/** A run's diff summary: branch, commits and files changed (src/daemon/worktree.ts). */
import type { DiffSummary } from '../api/types.js';

const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function DiffTotals({ diff }: { diff: DiffSummary }) {
  const files = diff.files ?? [];
  return (
    <span>
      <span className="add">+{n(diff.insertions)}</span> <span className="del">−{n(diff.deletions)}</span>{' '}
      <span className="muted">
        in {files.length} file{files.length === 1 ? '' : 's'}
        {diff.commits ? `, ${diff.commits.length} commit${diff.commits.length === 1 ? '' : 's'}` : ''}
      </span>
    </span>
  );
}

export function DiffView({ diff }: { diff: DiffSummary }) {
  const files = diff.files ?? [];
  return (
    <div className="diff">
      <p>
        <DiffTotals diff={diff} />
      </p>
      {diff.branch && (
        <p className="small">
          Branch <code className="wrap">{diff.branch}</code>
          {diff.base && (
            <>
              {' '}
              from <code>{diff.base.slice(0, 10)}</code>
            </>
          )}
          {diff.head && (
            <>
              {' '}
              → <code>{diff.head.slice(0, 10)}</code>
            </>
          )}
        </p>
      )}
      {files.length > 0 && (
        <ul className="plain files">
          {files.map((f) => (
            <li key={f.path}>
              <code className="wrap">{f.path}</code> <span className="add">+{n(f.insertions)}</span> <span className="del">−{n(f.deletions)}</span>
            </li>
          ))}
        </ul>
      )}
      {diff.commits && diff.commits.length > 0 && (
        <details>
          <summary>Commits</summary>
          <ul className="plain small">
            {diff.commits.map((c) => (
              <li key={c.sha}>
                <code>{c.sha.slice(0, 8)}</code> {c.subject}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

/**
 * Skills: semantic search over the workspace's skills, with scores, usage
 * counts, embedding model and last use; each opens its source task
 * (GET /api/v1/skills?q=&limit=; without q, the most recently used).
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ErrorNotice } from '../components/common.js';
import { ago, count } from '../format.js';
import { taskHref } from '../router.js';
import { useSession } from '../session.js';

export function SkillsPage({ initialQuery }: { initialQuery: string }) {
  const { api, workspace } = useSession();
  const [q, setQ] = useState(initialQuery);
  const [debounced, setDebounced] = useState(initialQuery);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(q.trim()), 250);
    return () => clearTimeout(t);
  }, [q]);
  const skills = useQuery({ queryKey: ['skills', workspace, debounced], queryFn: () => api.skills(debounced, 30), placeholderData: keepPreviousData });

  return (
    <div>
      <div className="page-head">
        <h1>Skills</h1>
        <div className="filters" role="search">
          <label>
            <span className="visually-hidden">Search skills</span>
            <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Describe what you need: “retry flaky tests”" aria-label="Search skills" />
          </label>
          {skills.isFetching && (
            <span className="muted small" role="status">
              searching…
            </span>
          )}
        </div>
      </div>
      <p className="muted small">Skills are learned from completed tasks and suggested to agents for similar prompts. The search is by meaning, not by words.</p>
      {skills.isPending ? (
        <p className="muted" aria-busy="true">
          Searching… (the server's first search after a start also loads its embedding model)
        </p>
      ) : skills.error ? (
        <ErrorNotice error={skills.error} what="skills" />
      ) : skills.data.items.length === 0 ? (
        <p className="muted">{debounced ? `No skill matches “${debounced}”.` : 'No skills yet: they are learned as tasks complete (or imported with `switchyard skill import`).'}</p>
      ) : (
        <ul className="plain skills">
          {skills.data.items.map((s) => (
            <li key={s.id} className="card skill">
              <details>
                <summary>
                  <strong>{s.name}</strong>{' '}
                  {s.score !== null && (
                    <span className="score" title="Similarity to the search, 0 to 1">
                      {s.score.toFixed(3)}
                    </span>
                  )}
                  <span className="muted small">
                    {' '}
                    · used {count(s.usageCount)}× · last used {ago(s.lastUsedAt)}
                  </span>
                </summary>
                <p>{s.description}</p>
                <p className="muted small">
                  {s.embeddingModel ? (
                    <>
                      Embedding model <code>{s.embeddingModel}</code>
                    </>
                  ) : (
                    'Waiting to be embedded'
                  )}
                  {s.sourceTaskId && (
                    <>
                      {' '}
                      · learned from <a href={taskHref(s.sourceTaskId)}>its source task</a>
                    </>
                  )}
                </p>
              </details>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

-- The skill library (DESIGN.md §4–5, issue 5): what completed tasks taught a
-- workspace, embedded with a versioned model, found again by hybrid search
-- (full text fused with vector similarity). Compatible with PostgreSQL 15
-- and PGlite 0.5 (PostgreSQL 18 in WASM), pgvector 0.8.

-- Every embedding model ever used, with its dimensions and the name of its
-- partial HNSW index. The index itself is created by the server the first
-- time a model is used (src/store/skills.ts ensureModel): its definition
-- needs the model id and the dimensions as literals, so it cannot be
-- written here for models nobody has chosen yet.
CREATE TABLE skill_models (
  -- provider/model/version, e.g. "local/wink-sg100d-sif/1", "openai/text-embedding-3-small".
  id         text PRIMARY KEY CHECK (length(id) BETWEEN 3 AND 200),
  provider   text NOT NULL,
  dims       integer NOT NULL CHECK (dims BETWEEN 1 AND 2000),
  index_name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE skills (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id    text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
  description     text NOT NULL CHECK (length(description) <= 20000),
  usage_count     integer NOT NULL DEFAULT 1 CHECK (usage_count >= 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_used_at    timestamptz NOT NULL DEFAULT now(),
  -- No foreign key: a skill outlives the task it came from.
  source_task_id  uuid,
  agent           text,
  model           text,
  -- Set while an archive run writes the row to cold storage; such rows are
  -- hidden from every query and deleted once the file is safely written.
  archived_at     timestamptz,
  metadata        jsonb NOT NULL DEFAULT '{}',
  -- No fixed dimensions: models of different sizes share the column; each
  -- model's rows are indexed by a partial index on embedding::vector(dims).
  embedding       vector,
  embedding_model text REFERENCES skill_models (id),
  dims            integer,
  search          tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', name), 'A') || setweight(to_tsvector('english', description), 'B')
                  ) STORED,
  CHECK ((embedding IS NULL) = (embedding_model IS NULL) AND (embedding IS NULL) = (dims IS NULL)),
  CHECK (embedding IS NULL OR vector_dims(embedding) = dims)
);
CREATE INDEX skills_by_workspace ON skills (workspace_id, last_used_at DESC, id);
CREATE INDEX skills_search ON skills USING gin (search);
CREATE INDEX skills_source_task ON skills (source_task_id) WHERE source_task_id IS NOT NULL;

-- How many skills of a workspace contain each lexeme (document frequency),
-- kept by the statement-level triggers below. Search uses it to build its
-- full-text query from the query's rarer lexemes only: words every skill of
-- a workspace shares ("fix", "test") cannot tell skills apart, and matching
-- them would make the full-text side rank most of the table on every query
-- (bench/skills-speed.ts).
CREATE TABLE skill_lexemes (
  workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  lexeme       text NOT NULL,
  df           integer NOT NULL,
  PRIMARY KEY (workspace_id, lexeme)
);

CREATE FUNCTION skill_lexemes_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO skill_lexemes (workspace_id, lexeme, df)
  SELECT n.workspace_id, l, count(*)
  FROM new_rows n, unnest(tsvector_to_array(n.search)) AS l
  GROUP BY n.workspace_id, l
  -- One order for every writer, so concurrent inserts cannot deadlock on these rows.
  ORDER BY n.workspace_id, l
  ON CONFLICT (workspace_id, lexeme) DO UPDATE SET df = skill_lexemes.df + excluded.df;
  RETURN NULL;
END $$;

CREATE FUNCTION skill_lexemes_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE skill_lexemes s SET df = s.df - d.n
  FROM (
    SELECT o.workspace_id, l, count(*) AS n
    FROM old_rows o, unnest(tsvector_to_array(o.search)) AS l
    GROUP BY o.workspace_id, l
    ORDER BY o.workspace_id, l
  ) d
  WHERE s.workspace_id = d.workspace_id AND s.lexeme = d.l;
  RETURN NULL;
END $$;

CREATE TRIGGER skills_lexemes_insert AFTER INSERT ON skills
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION skill_lexemes_add();
CREATE TRIGGER skills_lexemes_delete AFTER DELETE ON skills
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION skill_lexemes_remove();
-- Name and description never change after insert (no code path updates
-- them), so UPDATEs (usage counts, new vectors) need no trigger; PostgreSQL
-- does not allow transition tables on column-specific triggers anyway.

-- The model each workspace's queries use. It changes only when a re-embedding
-- finishes, so old vectors stay queryable while new ones are computed.
CREATE TABLE skill_spaces (
  workspace_id text PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
  model        text NOT NULL REFERENCES skill_models (id),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Background work that must not be lost and is retried with backoff:
-- turning a completed task into a skill, embedding a restored skill.
CREATE TABLE skill_jobs (
  id           bigserial PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  kind         text NOT NULL CHECK (kind IN ('index_task', 'embed_skill')),
  task_id      uuid,
  skill_id     uuid,
  state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
  attempts     integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 10,
  -- Due time; a claimed job moves it one lease ahead, so a crashed worker's job comes due again.
  run_after    timestamptz NOT NULL DEFAULT now(),
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX skill_jobs_task ON skill_jobs (task_id) WHERE kind = 'index_task';
CREATE INDEX skill_jobs_due ON skill_jobs (run_after, id) WHERE state = 'pending';

-- A re-embedding of one workspace's skills with another model: progress and
-- the new vectors, kept apart until every skill has one, then swapped in
-- one transaction (src/skills/reembed.ts).
CREATE TABLE skill_reembeds (
  workspace_id text PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
  to_model     text NOT NULL REFERENCES skill_models (id),
  state        text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
  total        integer NOT NULL DEFAULT 0,
  done         integer NOT NULL DEFAULT 0,
  error        text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE TABLE skill_reembed_vectors (
  skill_id     uuid PRIMARY KEY REFERENCES skills (id) ON DELETE CASCADE,
  workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  embedding    vector NOT NULL
);
CREATE INDEX skill_reembed_vectors_workspace ON skill_reembed_vectors (workspace_id);

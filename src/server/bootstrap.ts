/**
 * What a server makes sure of before it serves: the configured workspace
 * exists and matches `orchestrator.workspace`, and there is an admin token
 * the local user can find.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Orchestrator } from '../core/config/index.js';
import type { Db } from '../store/db.js';
import { createToken, findToken } from '../store/tokens.js';
import { getWorkspace, upsertWorkspace } from '../store/workspaces.js';

export const DEFAULT_WORKSPACE = 'default';

/** Applies `orchestrator.workspace` (create or update to match); answers the default workspace's id. */
export async function applyWorkspaceConfig(db: Db, config: Orchestrator): Promise<string> {
  const w = config.workspace;
  if (!w) {
    if (!(await getWorkspace(db, DEFAULT_WORKSPACE))) {
      await upsertWorkspace(db, { id: DEFAULT_WORKSPACE, name: 'Default' });
    }
    return DEFAULT_WORKSPACE;
  }
  const settings: Record<string, unknown> = {};
  // Without the API key: workspace settings are readable through the API; the key stays in the configuration.
  if (w.embedding) settings.embedding = Object.fromEntries(Object.entries(w.embedding).filter(([k]) => k !== 'api_key'));
  if (w.inject_skills !== undefined) settings.injectSkills = w.inject_skills;
  await upsertWorkspace(db, {
    id: w.id,
    name: w.name ?? w.id,
    maxConcurrentTasks: w.max_concurrent,
    skillRetentionDays: w.skill_retention_days,
    auditLogEnabled: w.audit_enabled,
    ...(w.allowed_agents ? { allowedAgents: w.allowed_agents } : {}),
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
  });
  return w.id;
}

function readSecret(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function writeSecret(path: string, secret: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * The token in `path` if it is still valid, else a new one of that kind
 * written there (mode 0600). `created` tells whether it is new.
 */
export async function ensureTokenFile(
  db: Db,
  path: string,
  make: { role: 'admin' | 'daemon'; name: string },
): Promise<{ token: string; created: boolean }> {
  const existing = existsSync(path) ? readSecret(path) : undefined;
  if (existing) {
    const t = await findToken(db, existing);
    if (t && t.role === make.role && t.workspaceId === null) return { token: existing, created: false };
  }
  const t = await createToken(db, { role: make.role, name: make.name, workspaceId: null, daemonWorkspaces: null });
  writeSecret(path, t.token);
  return { token: t.token, created: true };
}

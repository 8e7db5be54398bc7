/**
 * The environment an agent process gets (DESIGN.md §6): the basics, the
 * provider variables its CLI needs, the agent's own `env` from the config,
 * and the task's SWITCHYARD_* variables — nothing else of the daemon's
 * environment (no database URL, no server token).
 */

const BASICS = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM', 'COLORTERM', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

export function agentEnv(
  daemonEnv: NodeJS.ProcessEnv,
  passthroughPrefixes: readonly string[],
  configured: Record<string, string>,
  adapterEnv: Record<string, string>,
  task: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(daemonEnv)) {
    if (v === undefined) continue;
    if (k.startsWith('SWITCHYARD_')) continue;
    if (BASICS.includes(k) || k.startsWith('LC_') || passthroughPrefixes.some((p) => k.startsWith(p))) env[k] = v;
  }
  return { ...env, ...configured, ...adapterEnv, ...task };
}

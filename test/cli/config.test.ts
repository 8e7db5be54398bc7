/**
 * `switchyard config check` as a user runs it: the real binary, in a folder
 * of its own, with an environment free of the test run's own variables.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/core/config/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/daemon.js';

const SEED = new URL('../fixtures/agent-orchestrator.config.yaml', import.meta.url).pathname;
const cwd = tempDir('sy-config-check-');

/** Runs the CLI with only the variables a user's shell would have, plus `env`. */
function switchyard(args: string[], env: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL' && !k.startsWith('SWITCHYARD_') && !k.startsWith('PG')));
  return runCli(args, { cwd, env: { ...base, ...env } });
}

function file(name: string, text: string): string {
  const path = join(cwd, name);
  writeFileSync(path, text);
  return path;
}

const BROKEN = [
  'orchestrator:',
  '  workspace:',
  '    id: prod-automation',
  '    max_concurrent: "four"',
  '  runtime:',
  '    health_check_interval: soon',
  '    cpu_treshold: 0.9',
  '  streaming:',
  '    max_message_size: huge',
  '',
].join('\n');

describe('switchyard config check', () => {
  it('accepts the seed template and prints the resolved configuration, defaults filled in', async () => {
    const r = await switchyard(['config', 'check', '--config', SEED]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`# ${SEED}`);
    const printed = parseYaml(r.stdout) as { orchestrator: Record<string, Record<string, unknown>> };
    expect(printed.orchestrator.workspace).toMatchObject({ id: 'prod-automation', max_concurrent: 4, audit_enabled: true });
    expect(printed.orchestrator.runtime).toMatchObject({ daemon_port: 8080, health_check_interval: 15_000, cpu_threshold: 0.85, host: '127.0.0.1' });
    expect(printed.orchestrator.streaming).toMatchObject({ max_message_size: 1_048_576, heartbeat_interval: 30_000 });
    expect(printed.orchestrator.database).toMatchObject({ host: 'localhost', port: 5432, name: 'agent_workflow' });
    expect((printed.orchestrator.agents as unknown as { name: string }[]).map((a) => a.name)).toEqual(['claude-code', 'codex']);
  });

  it('prints a configuration that is itself valid and resolves to the same values', async () => {
    const r = await switchyard(['config', 'check', '--config', SEED]);
    const again = parseConfig(r.stdout);
    const original = parseConfig(readFileSync(SEED, 'utf8'));
    expect(again.ok && original.ok).toBe(true);
    expect(again.ok && again.config).toEqual(original.ok && original.config);
  });

  it('answers JSON with --json', async () => {
    const r = await switchyard(['config', 'check', '--config', SEED, '--json']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { ok: boolean; file: string; overrides: string[]; config: { orchestrator: { runtime: { daemon_port: number } } } };
    expect(body).toMatchObject({ ok: true, file: SEED, overrides: [] });
    expect(body.config.orchestrator.runtime.daemon_port).toBe(8080);
  });

  it('shows environment overrides and their effect', async () => {
    const r = await switchyard(['config', 'check', '--config', SEED], { SWITCHYARD_PORT: '9090', SWITCHYARD_RUNTIME__CPU_THRESHOLD: '0.9' });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain('SWITCHYARD_PORT');
    const printed = parseYaml(r.stdout) as { orchestrator: { runtime: { daemon_port: number; cpu_threshold: number } } };
    expect(printed.orchestrator.runtime).toMatchObject({ daemon_port: 9090, cpu_threshold: 0.9 });
  });

  it('refuses a broken file with exit 1 and every bad key’s path and line', async () => {
    const r = await switchyard(['config', 'check', '--config', file('broken.yaml', BROKEN)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('4 problems');
    for (const where of [
      'orchestrator.workspace.max_concurrent (line 4)',
      'orchestrator.runtime.health_check_interval (line 6)',
      'orchestrator.runtime.cpu_treshold (line 7)',
      'orchestrator.streaming.max_message_size (line 9)',
    ]) {
      expect(r.stderr).toContain(where);
    }
  });

  it('lists the same problems as JSON with --json', async () => {
    const r = await switchyard(['config', 'check', '--config', file('broken.yaml', BROKEN), '--json']);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout) as { ok: boolean; issues: { path: string; message: string }[] };
    expect(body.ok).toBe(false);
    expect(body.issues.map((i) => i.path.replace(/ \(line \d+\)$/, '')).sort()).toEqual(
      ['orchestrator.workspace.max_concurrent', 'orchestrator.runtime.health_check_interval', 'orchestrator.runtime.cpu_treshold', 'orchestrator.streaming.max_message_size'].sort(),
    );
  });

  it('names the environment variable whose value is bad', async () => {
    const r = await switchyard(['config', 'check', '--config', SEED], { SWITCHYARD_PORT: 'eighty' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SWITCHYARD_PORT');
  });

  it('says it cannot read a file that does not exist', async () => {
    const r = await switchyard(['config', 'check', '--config', join(cwd, 'missing.yaml')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('missing.yaml');
  });

  it('never prints a password back, in the database block or inside DATABASE_URL', async () => {
    const path = file('secret.yaml', 'orchestrator:\n  database:\n    host: db.internal\n    password: hunter2-in-file\n');
    const r = await switchyard(['config', 'check', '--config', path], { DATABASE_URL: 'postgres://sy:hunter2-in-url@db.internal:5432/switchyard' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('db.internal');
    expect(r.stdout).not.toContain('hunter2-in-file');
    expect(r.stdout).not.toContain('hunter2-in-url');
  });

  it('never prints the metrics token back', async () => {
    const path = file('metrics.yaml', 'orchestrator:\n  runtime:\n    metrics_token: scrape-me-0123456789abcdef\n');
    const r = await switchyard(['config', 'check', '--config', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('metrics_token');
    expect(r.stdout).not.toContain('scrape-me-0123456789abcdef');
  });
});

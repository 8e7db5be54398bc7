/**
 * The configuration file (DESIGN.md §8): the seed template loads unchanged,
 * an empty file means every default, a broken file reports each problem with
 * its YAML path and line, and the environment overrides the file.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ConfigIssue, type Orchestrator } from '../../src/core/config/index.js';
import { storeOptionsFromConfig } from '../../src/store/open.js';

const SEED = readFileSync(new URL('../fixtures/agent-orchestrator.config.yaml', import.meta.url), 'utf8');

function load(text: string, env: Record<string, string> = {}): Orchestrator {
  const r = parseConfig(text, env);
  if (!r.ok) throw new Error(`expected a valid configuration, got ${JSON.stringify(r.issues, null, 2)}`);
  return r.config;
}

function issues(text: string, env: Record<string, string> = {}): ConfigIssue[] {
  const r = parseConfig(text, env);
  if (r.ok) throw new Error('expected the configuration to be refused');
  return r.issues;
}

/** Numbered lines, so each expectation below can name the line it points at. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

describe('the seed template', () => {
  it('is the file the seed notes print, kept byte for byte as a fixture', () => {
    // The copy under /work/shared is the reference when it exists (it does on the dev machines and CI).
    let reference: string | undefined;
    try {
      reference = readFileSync('/work/shared/seed/agent-orchestrator.config.yaml', 'utf8');
    } catch {
      reference = undefined;
    }
    if (reference !== undefined) expect(SEED).toBe(reference);
    expect(SEED).toContain('max_message_size: 1MB');
  });

  it('loads unchanged, with durations in milliseconds and sizes in bytes', () => {
    const c = load(SEED);
    expect(c.workspace).toEqual({ id: 'prod-automation', max_concurrent: 4, skill_retention_days: 90, audit_enabled: true });
    expect(c.runtime).toMatchObject({ daemon_port: 8080, health_check_interval: 15_000, cpu_threshold: 0.85, memory_threshold_mb: 4096 });
    expect(c.streaming).toMatchObject({ protocol: 'websocket', max_message_size: 1_048_576, heartbeat_interval: 30_000, compression: true });
  });

  it('keeps both agents as written, in order', () => {
    const c = load(SEED);
    expect(c.agents).toHaveLength(2);
    expect(c.agents[0]).toMatchObject({ name: 'claude-code', binary: '/usr/local/bin/claude', default_model: 'claude-sonnet-4-20250514', context_limit: 200_000 });
    expect(c.agents[1]).toMatchObject({ name: 'codex', binary: '/usr/local/bin/codex', default_model: 'codex-mini', context_limit: 128_000 });
  });

  it('selects the PostgreSQL server its database block describes', () => {
    const c = load(SEED);
    expect(c.database).toMatchObject({ host: 'localhost', port: 5432, name: 'agent_workflow', extensions: ['vector'], pool_size: 10 });
    const store = storeOptionsFromConfig(c, '/var/lib/switchyard');
    expect(store).toMatchObject({ kind: 'postgres', describe: 'localhost:5432/agent_workflow', connection: { host: 'localhost', port: 5432, database: 'agent_workflow', max: 10 } });
  });
});

describe('an empty configuration', () => {
  it.each([
    ['an empty file', ''],
    ['a file of comments', '# nothing configured yet\n'],
  ])('%s gives every default', (_what, text) => {
    const c = load(text);
    expect(c.workspace).toBeUndefined();
    expect(c.database).toBeUndefined();
    expect(c.agents).toEqual([]);
    expect(c.runtime).toMatchObject({
      daemon_port: 8080,
      host: '127.0.0.1',
      health_check_interval: 15_000,
      cpu_threshold: 0.85,
      memory_threshold_mb: 4096,
      max_concurrent: 4,
      lease: 30_000,
      idle_timeout: 600_000,
      wall_timeout: 3_600_000,
      max_prompt_size: 256 * 1024,
    });
    expect(c.streaming).toMatchObject({ protocol: 'websocket', max_message_size: 1_048_576, heartbeat_interval: 30_000, compression: true });
  });

  it('uses the embedded database in the data folder', () => {
    expect(storeOptionsFromConfig(load(''), '/home/me/.switchyard')).toEqual({ kind: 'pglite', dataDir: '/home/me/.switchyard/pgdata' });
  });
});

describe('a broken configuration', () => {
  it('reports a wrong type with its dotted path, line and what was expected', () => {
    const text = yaml('orchestrator:', '  workspace:', '    id: prod', '    max_concurrent: "four"');
    expect(issues(text)).toEqual([{ path: 'orchestrator.workspace.max_concurrent', line: 4, message: expect.stringMatching(/number.*"four"/) }]);
  });

  it('reports a bad duration and a bad size with an example of a good one', () => {
    const text = yaml('orchestrator:', '  runtime:', '    health_check_interval: soon', '  streaming:', '    max_message_size: huge');
    expect(issues(text)).toEqual([
      { path: 'orchestrator.runtime.health_check_interval', line: 3, message: expect.stringMatching(/duration such as "15s".*"soon"/) },
      { path: 'orchestrator.streaming.max_message_size', line: 5, message: expect.stringMatching(/size such as "1MB".*"huge"/) },
    ]);
  });

  it('reports an unknown key at the key itself, so a typo is found at once', () => {
    const text = yaml('orchestrator:', '  runtime:', '    daemon_port: 8080', '    cpu_threshold: 0.85', '    memory_treshold_mb: 4096');
    expect(issues(text)).toEqual([{ path: 'orchestrator.runtime.memory_treshold_mb', line: 5, message: expect.stringContaining('unknown key') }]);
  });

  it('reports duplicate agent names at the second one', () => {
    const text = yaml('orchestrator:', '  agents:', '    - name: codex', '    - name: claude-code', '    - name: codex');
    expect(issues(text)).toEqual([{ path: 'orchestrator.agents.2.name', line: 5, message: expect.stringContaining('duplicate agent name "codex"') }]);
  });

  it('reports a command agent (not a known CLI) that names no binary', () => {
    const text = yaml('orchestrator:', '  agents:', '    - name: claude-code', '    - name: my-tool', '      args: ["{prompt}"]');
    expect(issues(text)).toEqual([{ path: 'orchestrator.agents.1.binary', line: 4, message: expect.stringMatching(/my-tool.*binary/) }]);
  });

  it('reports a YAML syntax error with its line', () => {
    const text = yaml('orchestrator:', '  runtime:', '    daemon_port: 8080', '  agents: [', '    - name: codex');
    const found = issues(text);
    expect(found.length).toBeGreaterThan(0);
    for (const i of found) {
      expect(i).toMatchObject({ path: '(file)', message: expect.stringMatching(/flow/i) });
      // The unclosed `[` opens on line 4; the parser notices it there or at the end of the file.
      expect(i.line, 'the line of the syntax error').toBeGreaterThanOrEqual(4);
    }
  });

  it('reports a key written twice with the line of the second one', () => {
    const text = yaml('orchestrator:', '  runtime:', '    daemon_port: 8080', '    daemon_port: 9090');
    expect(issues(text)).toEqual([{ path: expect.any(String), line: 4, message: expect.stringMatching(/unique/i) }]);
  });

  it('reports every problem of one file at once, the agent-list checks included', () => {
    const text = yaml(
      'orchestrator:', //                              1
      '  workspace:', //                               2
      '    id: "Prod Automation"', //                  3  not a slug
      '    max_concurrent: "four"', //                 4  wrong type
      '  runtime:', //                                 5
      '    health_check_interval: soon', //            6  bad duration
      '    cpu_threshold: high', //                    7  wrong type
      '    memory_treshold_mb: 4096', //               8  unknown key
      '  agents:', //                                  9
      '    - name: claude-code', //                    10
      '    - name: claude-code', //                    11 duplicate
      '    - name: my-tool', //                        12 command agent without binary
      '  streaming:', //                               13
      '    max_message_size: huge', //                 14 bad size
    );
    const found = issues(text).map((i) => `${i.path}:${i.line}`);
    expect(found.sort()).toEqual(
      [
        'orchestrator.workspace.id:3',
        'orchestrator.workspace.max_concurrent:4',
        'orchestrator.runtime.health_check_interval:6',
        'orchestrator.runtime.cpu_threshold:7',
        'orchestrator.runtime.memory_treshold_mb:8',
        'orchestrator.agents.1.name:11',
        'orchestrator.agents.2.binary:12',
        'orchestrator.streaming.max_message_size:14',
      ].sort(),
    );
  });
});

describe('environment overrides', () => {
  it('DATABASE_URL selects that PostgreSQL server over the file’s database block', () => {
    const c = load(SEED, { DATABASE_URL: 'postgres://sy:secret@db.internal:6543/switchyard' });
    expect(c.database?.url).toBe('postgres://sy:secret@db.internal:6543/switchyard');
    const store = storeOptionsFromConfig(c, '/data');
    expect(store).toMatchObject({ kind: 'postgres', describe: 'db.internal:6543/switchyard', connection: { connectionString: 'postgres://sy:secret@db.internal:6543/switchyard' } });
    expect(JSON.stringify(store.kind === 'postgres' ? store.describe : '')).not.toContain('secret');
  });

  it('SWITCHYARD_PORT sets the port, as a number, and is listed as an override', () => {
    const r = parseConfig(SEED, { SWITCHYARD_PORT: '9000' });
    expect(r.ok && r.config.runtime.daemon_port).toBe(9000);
    expect(r.ok && r.overrides).toEqual(['SWITCHYARD_PORT']);
  });

  it('SWITCHYARD_<SECTION>__<KEY> sets any key, read like a YAML value', () => {
    const c = load(SEED, { SWITCHYARD_RUNTIME__CPU_THRESHOLD: '0.9', SWITCHYARD_STREAMING__HEARTBEAT_INTERVAL: '5s', SWITCHYARD_STREAMING__COMPRESSION: 'false' });
    expect(c.runtime.cpu_threshold).toBe(0.9);
    expect(c.streaming.heartbeat_interval).toBe(5_000);
    expect(c.streaming.compression).toBe(false);
    // Everything else still comes from the file.
    expect(c.runtime.memory_threshold_mb).toBe(4096);
  });

  it('leaves alone variables that are not configuration keys, and empty ones', () => {
    const r = parseConfig(SEED, { SWITCHYARD_HOME: '/srv/sy', SWITCHYARD_LOG_LEVEL: 'debug', SWITCHYARD_PORT: '', PATH: '/usr/bin' });
    expect(r.ok && r.overrides).toEqual([]);
    expect(r.ok && r.config.runtime.daemon_port).toBe(8080);
  });

  it('names the variable when its value is bad', () => {
    expect(issues(SEED, { SWITCHYARD_PORT: 'eighty' })).toEqual([
      { path: expect.stringContaining('SWITCHYARD_PORT'), message: expect.stringMatching(/number.*"eighty"/) },
    ]);
    const [bad] = issues(SEED, { SWITCHYARD_RUNTIME__CPU_THRESHOLD: 'lots' });
    expect(bad?.path).toBe('orchestrator.runtime.cpu_threshold (from SWITCHYARD_RUNTIME__CPU_THRESHOLD)');
    expect(bad?.line, 'a value from the environment has no line in the file').toBeUndefined();
  });

  it('names the variable when it sets a key that does not exist', () => {
    const found = issues(SEED, { SWITCHYARD_RUNTIME__CPU_TRESHOLD: '0.9' });
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toContain('SWITCHYARD_RUNTIME__CPU_TRESHOLD');
  });
});

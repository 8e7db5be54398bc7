/**
 * docs/alerts.yml against the real /metrics of a running server: after one
 * task ran through a daemon (so run, token and runtime series exist), every
 * metric a rule names is exported, and every rule's `config` annotation names
 * keys the configuration has, so a renamed metric or key fails here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/core/config/index.js';
import { fakeAgent } from '../helpers/config.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { samples, scrape, type Sample } from '../helpers/metrics.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const ALERTS = fileURLToPath(new URL('../../docs/alerts.yml', import.meta.url));
const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/fake-claude.mjs', import.meta.url));
const agents = [fakeAgent(), { name: 'claude-code', binary: FAKE_CLAUDE }];

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (): Rule[] => (parse(readFileSync(ALERTS, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

/** The metric names an expression reads; histogram/summary suffixes are kept (they are what /metrics exports). */
const metricNames = (expr: string) => [...new Set(expr.match(/\bswitchyard_[a-z0-9_]+/g) ?? [])];

describe('docs/alerts.yml', () => {
  let s: TestServer;
  let d: TestDaemon;
  beforeAll(async () => {
    s = await startTestServer({ config: { agents } });
    d = await startTestDaemon(s.url, s.daemonToken, { config: { agents }, name: 'alerts-daemon' });
  });
  afterAll(async () => {
    await d?.stop();
    await s?.close();
  });

  it('is a rule file of named, described rules with Prometheus durations', () => {
    const all = rules();
    expect(all.length).toBeGreaterThanOrEqual(8);
    expect(new Set(all.map((r) => r.alert)).size).toBe(all.length);
    for (const r of all) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^Switchyard[A-Za-z]+$/);
      expect(r.expr.trim(), r.alert).not.toBe('');
      if (r.for !== undefined) expect(r.for, r.alert).toMatch(/^\d+[smhd]$/);
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      expect(metricNames(r.expr).length, `${r.alert} names no switchyard_ metric`).toBeGreaterThan(0);
    }
    // The list: queue, dispatch latency, runtime offline and throttled, failures by class, token spend.
    for (const name of ['SwitchyardQueueBackingUp', 'SwitchyardDispatchLatencyHigh', 'SwitchyardRuntimeOffline', 'SwitchyardRuntimeThrottled', 'SwitchyardFailureSpike', 'SwitchyardTokenSpendSpike']) {
      expect(all.map((r) => r.alert)).toContain(name);
    }
  });

  it('names only configuration keys that exist, for the defaults its thresholds follow', () => {
    const parsed = parseConfig('');
    if (!parsed.ok) throw new Error('the empty configuration does not parse');
    // workspace.* keys exist only when the block is present: read them from a minimal one.
    const withWorkspace = parseConfig('orchestrator:\n  workspace:\n    id: x\n');
    if (!withWorkspace.ok) throw new Error('a minimal workspace block does not parse');
    const has = (path: string) => {
      let node: unknown = { ...parsed.config, workspace: withWorkspace.config.workspace };
      for (const key of path.split('.')) {
        if (!node || typeof node !== 'object' || !(key in node)) return false;
        node = (node as Record<string, unknown>)[key];
      }
      return true;
    };
    for (const r of rules()) {
      const keys = (r.annotations?.config ?? '').split(',').map((k) => k.trim());
      expect(keys[0], `${r.alert} has no config annotation`).toBeTruthy();
      if (keys[0] === 'none') continue;
      for (const k of keys) expect(has(k), `${r.alert}: orchestrator.${k}`).toBe(true);
    }
    // The numbers the comments derive from are the defaults.
    expect(parsed.config.runtime).toMatchObject({ lease: 30_000, cpu_threshold: 0.85, memory_threshold_mb: 4096, health_check_interval: 15_000 });
    expect(parsed.config.streaming.heartbeat_interval).toBe(30_000);
    expect(withWorkspace.config.workspace?.max_concurrent).toBe(4);
  });

  it('reads only metrics that /metrics exports once a task ran through a daemon', async () => {
    const t = await s.admin.tasks.create({ assignedAgent: 'claude-code', prompt: 'job turns=1 usage=100' });
    await until(async () => (await s.admin.tasks.get(t.id)).status === 'completed', 'the task to complete');
    let m: Sample[] = [];
    await until(async () => {
      m = await scrape(s.url);
      return samples(m, 'switchyard_daemon_active_runs').length > 0;
    }, 'a health report in the metrics');
    const exported = new Set(m.map((x) => x.name));
    const named = new Set(rules().flatMap((r) => metricNames(r.expr)));
    expect(named.size).toBeGreaterThanOrEqual(8);
    for (const name of named) expect(exported, `${name} (docs/alerts.yml) is not exported by /metrics`).toContain(name);
  });
});

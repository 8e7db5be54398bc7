import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeAgent } from '../helpers/config.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { samples, scrape, value, type Sample } from '../helpers/metrics.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { saveCalibration } from '../../src/store/skills.js';
import { efSearchFor } from '../../src/skills/searchEffort.js';
import { until } from '../helpers/wait.js';

const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/fake-claude.mjs', import.meta.url));
const agents = [fakeAgent(), { name: 'claude-code', binary: FAKE_CLAUDE }];

describe('GET /metrics', () => {
  let s: TestServer;
  let d: TestDaemon | undefined;
  beforeAll(async () => {
    s = await startTestServer({ config: { agents } });
    d = await startTestDaemon(s.url, s.daemonToken, { config: { agents }, name: 'metrics-daemon' });
  });
  afterAll(async () => {
    await d?.stop();
    await s?.close();
  });

  it('exposes every named series with plausible values after tasks ran through a real daemon', async () => {
    const ws = await s.workspace('metrics');
    const client = ws.client();
    const settled = (id: string, status: string) => until(async () => ((await client.tasks.get(id)).status === status ? true : undefined), `task ${id} to be ${status}`);
    const ok = await client.tasks.create({ assignedAgent: 'fake', prompt: 'work --lines 20' });
    const failing = await client.tasks.create({ assignedAgent: 'fake', prompt: 'break --exit 3', maxAttempts: 1 });
    const claude = await client.tasks.create({ assignedAgent: 'claude-code', prompt: 'job turns=2 usage=100' });
    // Nobody runs this agent: it stays queued.
    await client.tasks.create({ assignedAgent: 'ghost', prompt: 'never runs' });
    await settled(ok.id, 'completed');
    await settled(failing.id, 'failed');
    await settled(claude.id, 'completed');

    // A health report arrives every 200 ms in tests.
    let m: Sample[] = [];
    await until(async () => {
      m = await scrape(s.url);
      return samples(m, 'switchyard_daemon_cpu_ratio', { daemon_id: d!.id }).length === 1;
    }, 'a health report in the metrics');

    for (const sample of m) expect(sample.name).toMatch(/^switchyard_/);
    const names = new Set(m.map((x) => x.name));
    for (const name of [
      'switchyard_database_up',
      'switchyard_queue_depth',
      'switchyard_dispatch_latency_seconds_bucket',
      'switchyard_claim_duration_seconds_count',
      'switchyard_events_stored_total',
      'switchyard_stream_lag_seconds_count',
      'switchyard_runs_total',
      'switchyard_agent_tokens_total',
      'switchyard_agent_cost_usd_total',
      'switchyard_daemons_online',
      'switchyard_daemons_throttled',
      'switchyard_daemon_cpu_ratio',
      'switchyard_daemon_memory_used_bytes',
      'switchyard_daemon_agents_rss_bytes',
      'switchyard_daemon_active_runs',
      'switchyard_daemon_throttled',
      'switchyard_stream_clients',
      'switchyard_process_cpu_user_seconds_total',
      'switchyard_process_resident_memory_bytes',
      'switchyard_nodejs_eventloop_lag_seconds',
      'switchyard_nodejs_heap_size_used_bytes',
    ]) {
      expect(names, name).toContain(name);
    }

    expect(value(m, 'switchyard_database_up')).toBe(1);
    // Every open state is reported, zeros included.
    expect(value(m, 'switchyard_queue_depth', { workspace: 'metrics', state: 'queued' })).toBe(1);
    for (const state of ['claimed', 'executing', 'blocked', 'retrying']) expect(value(m, 'switchyard_queue_depth', { workspace: 'metrics', state })).toBe(0);

    // Three tasks were dispatched, each well within a minute.
    const dispatched = value(m, 'switchyard_dispatch_latency_seconds_count')!;
    expect(dispatched).toBeGreaterThanOrEqual(3);
    expect(value(m, 'switchyard_dispatch_latency_seconds_sum')! / dispatched).toBeLessThan(30);
    expect(value(m, 'switchyard_dispatch_latency_seconds_bucket', { le: '+Inf' })).toBe(dispatched);
    expect(value(m, 'switchyard_claim_duration_seconds_count')).toBeGreaterThanOrEqual(3);

    const stored = value(m, 'switchyard_events_stored_total', { workspace: 'metrics' })!;
    expect(stored).toBeGreaterThanOrEqual(20);
    expect(value(m, 'switchyard_stream_lag_seconds_count')).toBe(stored);
    expect(value(m, 'switchyard_stream_lag_seconds_sum')! / stored).toBeLessThan(5);

    expect(value(m, 'switchyard_runs_total', { agent: 'fake', outcome: 'completed', failure_class: 'none' })).toBe(1);
    expect(value(m, 'switchyard_runs_total', { agent: 'claude-code', outcome: 'completed', failure_class: 'none' })).toBe(1);
    const failed = samples(m, 'switchyard_runs_total', { agent: 'fake', outcome: 'failed' });
    expect(failed).toHaveLength(1);
    expect(failed[0]!.labels.failure_class).not.toBe('none');

    // fake-claude: 2 messages × 100 input tokens and 10 output tokens, at $3 / $15 per million.
    expect(value(m, 'switchyard_agent_tokens_total', { agent: 'claude-code', kind: 'input' })).toBe(200);
    expect(value(m, 'switchyard_agent_tokens_total', { agent: 'claude-code', kind: 'output' })).toBe(20);
    expect(value(m, 'switchyard_agent_cost_usd_total', { agent: 'claude-code' })).toBeCloseTo((200 * 3 + 20 * 15) / 1e6, 9);

    expect(value(m, 'switchyard_daemons_online')).toBe(1);
    expect(value(m, 'switchyard_daemons_throttled')).toBe(0);
    const mine = { daemon_id: d!.id, daemon_name: 'metrics-daemon' };
    expect(value(m, 'switchyard_daemon_cpu_ratio', mine)).toBeGreaterThanOrEqual(0);
    expect(value(m, 'switchyard_daemon_cpu_ratio', mine)).toBeLessThanOrEqual(1);
    expect(value(m, 'switchyard_daemon_memory_used_bytes', mine)).toBeGreaterThan(1024 * 1024);
    expect(value(m, 'switchyard_daemon_throttled', mine)).toBe(0);
    expect(value(m, 'switchyard_process_resident_memory_bytes')).toBeGreaterThan(1024 * 1024);

    // A runtime that leaves takes its series with it.
    await d!.stop();
    d = undefined;
    await until(async () => {
      m = await scrape(s.url);
      return value(m, 'switchyard_daemons_online') === 0;
    }, 'the daemon to leave the metrics');
    expect(samples(m, 'switchyard_daemon_cpu_ratio')).toEqual([]);
    expect(samples(m, 'switchyard_daemon_memory_used_bytes')).toEqual([]);
  });

  it("reports each embedding model's search effort, graph size and measured recall", async () => {
    const ws = await s.workspace('metrics-skills');
    const skill = await ws.client().skills.create({ name: 'Rotate the signing key', description: 'generate, publish, then retire the old one' });
    const model = skill.embeddingModel!;
    let m = await scrape(s.url);
    expect(value(m, 'switchyard_skill_search_ef', { model })).toBe(100);
    expect(value(m, 'switchyard_skill_graph_vectors', { model })).toBeGreaterThanOrEqual(0);
    expect(samples(m, 'switchyard_skill_search_calibrated_recall', { model })).toEqual([]);
    // Once measured, the recall shows; the effort of a graph this small stays the base one.
    await saveCalibration(s.db, model, { ef: 280, recall: 0.975, graphSize: 1, samples: 100, at: new Date(Date.now() - 1000) });
    m = await scrape(s.url);
    expect(value(m, 'switchyard_skill_search_calibrated_recall', { model })).toBeCloseTo(0.975, 5);
    expect(value(m, 'switchyard_skill_search_ef', { model })).toBe(100);
    // A graph the planner counts at 50k vectors: the size prior, then the measured effort.
    const index = (await s.db.query<{ index_name: string }>('SELECT index_name FROM skill_models WHERE id = $1', [model])).rows[0]!.index_name;
    await s.db.query('UPDATE pg_class SET reltuples = 50000 WHERE oid = to_regclass($1)', [index]);
    try {
      await s.db.query('UPDATE skill_models SET ef_search = NULL, calibrated_at = NULL WHERE id = $1', [model]);
      m = await scrape(s.url);
      expect(value(m, 'switchyard_skill_graph_vectors', { model })).toBe(50_000);
      expect(value(m, 'switchyard_skill_search_ef', { model })).toBe(efSearchFor(50_000));
      await saveCalibration(s.db, model, { ef: 140, recall: 0.98, graphSize: 50_000, samples: 100, at: new Date() });
      m = await scrape(s.url);
      expect(value(m, 'switchyard_skill_search_ef', { model })).toBe(140);
      expect(value(m, 'switchyard_skill_search_calibrated_recall', { model })).toBeCloseTo(0.98, 5);
    } finally {
      await s.db.query('ANALYZE skills');
    }
  });
});

describe('GET /metrics with orchestrator.runtime.metrics_token', () => {
  let s: TestServer;
  const token = 'scrape-secret-0123456789';
  beforeAll(async () => {
    s = await startTestServer({ config: { runtime: { metrics_token: token } } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('requires that token as a bearer token, and no other', async () => {
    const none = await fetch(`${s.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    // An API token, even the instance admin's, is not the metrics token.
    expect((await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${s.adminToken}` } })).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);

    const m = await scrape(s.url, token);
    expect(value(m, 'switchyard_database_up')).toBe(1);
    // The probes stay open.
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
  });
});

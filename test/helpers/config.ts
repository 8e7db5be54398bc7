/** Configurations for tests: the real schema and defaults, with fast timings. */
import { fileURLToPath } from 'node:url';
import { parseConfig, type Orchestrator } from '../../src/core/config/index.js';
import { stringify } from 'yaml';

export const FAKE_AGENT = fileURLToPath(new URL('../fixtures/fake-agent.mjs', import.meta.url));

type Section = Record<string, unknown>;

export interface TestConfigInput {
  workspace?: Section;
  runtime?: Section;
  agents?: Section[];
  streaming?: Section;
  webhooks?: Section;
}

/** The fake agent as a command agent named `fake`, with its `--version` probe. */
export const fakeAgent = (extra: Section = {}): Section => ({ name: 'fake', binary: FAKE_AGENT, args: ['{prompt}'], version_args: ['--version'], ...extra });

/** A command agent failing the way a CLI with an expired key does (`401 Unauthorized` on stderr, exit 1). */
export const authbotAgent = { name: 'authbot', binary: process.execPath, args: ['-e', "process.stderr.write('Error: 401 Unauthorized\\n'); process.exit(1)", '{prompt}'] };

export function testConfigObject(input: TestConfigInput = {}): { orchestrator: Section } {
  return {
    orchestrator: {
      ...(input.workspace ? { workspace: input.workspace } : {}),
      runtime: {
        daemon_port: 0,
        health_check_interval: '200ms',
        lease: '2s',
        kill_grace: '1s',
        final_grace: '2s',
        agent_check_interval: '1h',
        // Tests share a small machine: its CPU load must not throttle their daemons
        // (the throttling test sets its own threshold).
        cpu_threshold: 2,
        ...input.runtime,
      },
      agents: input.agents ?? [fakeAgent()],
      streaming: { heartbeat_interval: '500ms', ...input.streaming },
      ...(input.webhooks ? { webhooks: input.webhooks } : {}),
    },
  };
}

export function testConfig(input: TestConfigInput = {}): Orchestrator {
  const r = parseConfig(stringify(testConfigObject(input)));
  if (!r.ok) throw new Error(`bad test config: ${JSON.stringify(r.issues)}`);
  return r.config;
}

export function testConfigYaml(input: TestConfigInput = {}): string {
  return stringify(testConfigObject(input));
}

import { describe, expect, it } from 'vitest';
import { KNOWN_AGENT_NAMES } from '../../src/core/config/index.js';
import { claudeCode } from '../../src/agents/claudeCode.js';
import { getAdapter, isKnownAgent, knownAdapterNames } from '../../src/agents/registry.js';

describe('agent registry', () => {
  it('knows exactly the CLIs the config calls known', () => {
    expect([...knownAdapterNames].sort()).toEqual([...KNOWN_AGENT_NAMES].sort());
  });

  it('returns a known CLI’s adapter, ignoring a config template for it', () => {
    expect(getAdapter('claude-code', { binary: '/usr/local/bin/claude', args: ['x'] })).toBe(claudeCode);
    expect(isKnownAgent('codex')).toBe(true);
  });

  it('builds a command agent for any other name from its config entry', () => {
    const agent = getAdapter('aider', { binary: '/opt/aider', args: ['--message', '{prompt}'] });
    expect(isKnownAgent('aider')).toBe(false);
    expect(agent.name).toBe('aider');
    expect(agent.defaultBinary).toBe('/opt/aider');
    expect(agent.buildInvocation({ prompt: 'p', workdir: '/w', scratchDir: '/s', runningAsRoot: false }).args).toEqual(['--message', 'p']);
    expect(getAdapter('plain').defaultBinary).toBe('plain');
  });

  it('gives every known adapter a binary, a version probe and env prefixes', () => {
    for (const name of knownAdapterNames) {
      const adapter = getAdapter(name);
      expect(adapter.defaultBinary).not.toBe('');
      expect(adapter.versionArgs).toEqual(['--version']);
      expect(adapter.envPassthrough.length).toBeGreaterThan(0);
      expect(adapter.supportsResume).toBe(true);
    }
  });
});

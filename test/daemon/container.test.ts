import { describe, expect, it } from 'vitest';
import { containerCommand } from '../../src/daemon/container.js';
import { checkAgent, resolveAgents } from '../../src/daemon/detect.js';

describe('container fallback', () => {
  it('runs the agent in the image with the workdir mounted, env by name and the same argument list', () => {
    const cmd = containerCommand(
      { engine: 'docker', image: 'ghcr.io/acme/claude:2', args: ['--network', 'host'] },
      { workdir: '/srv/runs/t1', command: 'claude', args: ['-p', '--model=x', '$(not a shell)'], envNames: ['ANTHROPIC_API_KEY', 'SWITCHYARD_TOKEN'], interactive: true },
    );
    expect(cmd).toEqual({
      binary: 'docker',
      args: ['run', '--rm', '--init', '-i', '-v', '/srv/runs/t1:/srv/runs/t1', '-w', '/srv/runs/t1', '-e', 'ANTHROPIC_API_KEY', '-e', 'SWITCHYARD_TOKEN', '--network', 'host', 'ghcr.io/acme/claude:2', 'claude', '-p', '--model=x', '$(not a shell)'],
    });
  });

  it('uses the container when the binary is missing, and says clearly when no engine can run it', async () => {
    const [entry] = resolveAgents([
      { name: 'claude-code', binary: '/opt/none/claude', env: {}, container_only: false, container: { engine: 'podman', image: 'acme/claude', args: [] } },
    ]);
    expect(entry!.container).toBeDefined();
    expect(entry!.binary).toBe('claude');
    const check = await checkAgent(entry!, 5_000);
    // This machine may or may not have podman; without a running engine the agent is missing, with the reason.
    if (check.status !== 'ok') {
      expect(check.status).toBe('missing');
      expect(check.reason).toMatch(/container engine podman is not (installed|running)/);
      expect(check.reason).toContain('/opt/none/claude');
    }
  });

  it('prefers the host binary unless container_only is set', () => {
    const [host] = resolveAgents([{ name: 'x', binary: '/bin/true', env: {}, container_only: false, container: { engine: 'docker', image: 'i', args: [] } }]);
    expect(host!.container).toBeUndefined();
    const [forced] = resolveAgents([{ name: 'x', binary: '/bin/true', env: {}, container_only: true, container: { engine: 'docker', image: 'i', args: [] } }]);
    expect(forced!.container).toBeDefined();
  });
});

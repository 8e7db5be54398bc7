import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/daemon.js';
import { fakeAgent, testConfigYaml } from '../helpers/config.js';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, PATH: '/usr/bin:/bin' }, timeout: 55_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('switchyard daemon doctor', () => {
  it('lists each configured agent with its state and names the path of a missing binary', async () => {
    const dir = tempDir();
    const silent = join(dir, 'silent-agent');
    writeFileSync(silent, '#!/bin/sh\nsleep 60\n');
    chmodSync(silent, 0o755);
    const notExec = join(dir, 'not-executable');
    writeFileSync(notExec, '#!/bin/sh\necho 1\n');
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      testConfigYaml({
        agents: [
          fakeAgent(),
          { name: 'claude-code', binary: '/opt/nowhere/claude' },
          { name: 'plain', binary: notExec },
          { name: 'hangs', binary: silent, version_args: ['--version'] },
        ],
      }),
    );
    const r = await run(['daemon', 'doctor', '--config', config, '--json']);
    expect(r.code).toBe(1); // problems found
    const { agents } = JSON.parse(r.stdout) as { agents: { name: string; status: string; binary: string; version: string | null; reason: string | null }[] };
    const byName = Object.fromEntries(agents.map((a) => [a.name, a]));
    expect(byName.fake).toMatchObject({ status: 'ok', version: '1.2.3' });
    expect(byName['claude-code']).toMatchObject({ status: 'missing', binary: '/opt/nowhere/claude' });
    expect(byName['claude-code']!.reason).toContain('/opt/nowhere/claude');
    expect(byName.plain).toMatchObject({ status: 'not_executable' });
    expect(byName.hangs).toMatchObject({ status: 'version_failed' });
    // Checked twice (a slow start on a busy machine gets a second chance), 10 s each.
    expect(byName.hangs!.reason).toContain('did not answer within 10 s');

    const table = await run(['daemon', 'doctor', '--config', config]);
    expect(table.stdout).toMatch(/claude-code\s+MISSING/);
    expect(table.stdout).toContain('/opt/nowhere/claude');
  }, 60_000);

  it('exits 0 when every agent is fine', async () => {
    const dir = tempDir();
    const config = join(dir, 'config.yaml');
    writeFileSync(config, testConfigYaml({ agents: [fakeAgent()] }));
    const r = await run(['daemon', 'doctor', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/fake\s+ok\s+1\.2\.3/);
  });
});

/**
 * `switchyard audit list|verify` against a real server, as child processes
 * (`node bin/switchyard.mjs … --url --token`): verify exits 0 while the
 * chain holds and 1, naming the record, once a row was changed in SQL.
 * Needs `npm run build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord, AuditVerification } from '../../src/core/audit.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/daemon.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';

let s: TestServer;
let ws: WorkspaceHandle;
const home = tempDir('sy-cli-audit-home-');

beforeAll(async () => {
  s = await startTestServer();
  ws = await s.workspace('cli-audit', { auditLogEnabled: true });
  const later = new Date(Date.now() + 3_600_000).toISOString();
  for (const prompt of ['one', 'two', 'three']) {
    const t = await ws.client().tasks.create({ assignedAgent: 'fake', prompt, runAfter: later });
    await ws.client().tasks.cancel(t.id);
  }
});
afterAll(async () => {
  await s?.close();
});

const cli = (args: string[], token: string) => runCli([...args, '--url', s.url, '--token', token], { env: cliEnv(home) });

describe('switchyard audit', () => {
  it('lists the records and verifies an intact chain with exit code 0', async () => {
    const list = await cli(['audit', 'list', '--json', '--limit', '500'], ws.tokens.admin);
    expect(list.code, list.stderr).toBe(0);
    const items = (JSON.parse(list.stdout) as { items: AuditRecord[] }).items;
    // Per task: the create call and its transition, the cancel call and its transition.
    expect(items).toHaveLength(12);
    const table = await cli(['audit', 'list'], ws.tokens.admin);
    expect(table.stdout).toMatch(/SEQ\s+AT\s+ACTOR\s+ACTION/);
    expect(table.stdout).toContain('task.cancel');
    expect(table.stdout).toContain('status=queued → status=cancelled');

    const ok = await cli(['audit', 'verify'], ws.tokens.admin);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/audit chain of cli-audit: intact \(12 checked, records 1–12, head [0-9a-f]{64}\)/);
    // An instance admin names the workspace.
    const asInstance = await cli(['audit', 'verify', '--workspace', ws.id, '--json'], s.adminToken);
    expect(asInstance.code, asInstance.stderr).toBe(0);
    expect(JSON.parse(asInstance.stdout)).toMatchObject({ workspaceId: ws.id, ok: true, checked: 12 });
  });

  it('exits 1 and names the record once a row was altered in SQL', async () => {
    await s.db.query(`UPDATE audit_log SET after = '{"status":"completed"}' WHERE workspace_id = $1 AND seq = 7`, [ws.id]);
    const text = await cli(['audit', 'verify'], ws.tokens.admin);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('BROKEN at record 7 (hash_mismatch)');
    expect(text.stdout).toContain('(6 records before it are intact)');
    const json = await cli(['audit', 'verify', '--json'], ws.tokens.admin);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as AuditVerification).broken).toMatchObject({ seq: 7, reason: 'hash_mismatch' });
  });

  it('exits 1 when the token may not read the log', async () => {
    const r = await cli(['audit', 'verify'], ws.tokens.member);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('HTTP 403');
  });
});

/**
 * `switchyard audit list|verify`: the workspace's audit log, through the
 * server's API like every other command (the CLI never opens the database).
 * `verify` exits 1 when the chain is broken, 0 when it holds.
 */
import type { Command } from 'commander';
import type { AuditRecord } from '../../core/audit.js';
import { printJson, printTable } from '../output.js';
import { clientFrom, intOption, withConnection, type ClientFlags } from './common.js';

interface AuditFlags extends ClientFlags {
  limit?: string;
  cursor?: string;
}

/** `status=queued → status=cancelled reason=…`: status first, then the other fields that have a value. */
function summary(r: AuditRecord): string {
  const order = ([a]: [string, unknown], [b]: [string, unknown]) => (a === 'status' ? -1 : b === 'status' ? 1 : a.localeCompare(b));
  const side = (o: Record<string, unknown> | null) =>
    o
      ? Object.entries(o)
          .filter(([, v]) => v !== null)
          .sort(order)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
      : '';
  const before = side(r.before);
  const after = side(r.after);
  return before && after ? `${before} → ${after}` : before || after;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit log of a workspace (workspace or instance admin)');

  withConnection(audit.command('list').description('audit records, newest first'))
    .option('--limit <n>', 'records per page (1–500)', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--json', 'print JSON')
    .action(async (f: AuditFlags) => {
      const page = await clientFrom(f).audit.list({ limit: intOption('--limit', f.limit), ...(f.cursor ? { cursor: f.cursor } : {}) });
      if (f.json) return printJson(page);
      printTable(
        page.items.map((r) => ({
          ...r,
          actor: r.actorTokenId ? `${r.actorRole ?? r.actorKind} ${r.actorTokenId.slice(0, 8)}` : r.actorKind,
          target: r.targetId ? `${r.targetType ?? ''} ${r.targetId}` : (r.targetType ?? '-'),
          summary: summary(r),
        })),
        [
          { key: 'seq', title: 'seq' },
          { key: 'at', title: 'at' },
          { key: 'actor', title: 'actor' },
          { key: 'action', title: 'action' },
          { key: 'target', title: 'target', max: 48 },
          { key: 'summary', title: 'change', max: 70 },
          { key: 'clientAddress', title: 'from' },
        ],
        'No audit records (is auditLogEnabled set on the workspace?).',
      );
      if (page.nextCursor) process.stderr.write(`More: --cursor ${page.nextCursor}\n`);
    });

  withConnection(audit.command('verify').description('walk the hash chain; exit 1 at the first broken link'))
    .option('--json', 'print JSON')
    .action(async (f: AuditFlags) => {
      const v = await clientFrom(f).audit.verify();
      if (!v.ok) process.exitCode = 1;
      if (f.json) return printJson(v);
      if (v.ok) {
        const span = v.checked > 0 ? `records ${v.firstSeq}–${v.lastSeq}` : 'no records';
        process.stdout.write(`audit chain of ${v.workspaceId}: intact (${v.checked} checked, ${span}${v.headHash ? `, head ${v.headHash}` : ''})\n`);
        return;
      }
      const b = v.broken!;
      process.stdout.write(
        `audit chain of ${v.workspaceId}: BROKEN at record ${b.seq} (${b.reason})\n  ${b.message}\n  expected: ${b.expected ?? '-'}\n  found:    ${b.found ?? '-'}\n` +
          `  (${v.checked} records before it are intact)\n`,
      );
    });
}

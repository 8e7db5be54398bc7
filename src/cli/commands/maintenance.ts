/** `switchyard maintenance run`: the retention job, now. */
import type { Command } from 'commander';
import { printJson } from '../output.js';
import { clientFrom, withConnection, type ClientFlags } from './common.js';

export function registerMaintenance(program: Command): void {
  const m = program.command('maintenance').description('retention and partition upkeep');
  withConnection(m.command('run').description('run the maintenance job now: partitions ahead, expired transcripts dropped, finished tasks folded into daily metrics'))
    .option('--json', 'print JSON')
    .action(async (f: ClientFlags) => {
      const r = await clientFrom(f).maintenance.run();
      if (f.json) return printJson(r);
      if (!r.ran) {
        process.stdout.write(`skipped: ${String(r.skipped)}\n`);
        return;
      }
      const list = (v: unknown) => (Array.isArray(v) && v.length ? v.join(', ') : 'none');
      process.stdout.write(
        [
          `partitions created  ${list(r.createdPartitions)}`,
          `partitions dropped  ${list(r.droppedPartitions)}`,
          `metrics rows folded ${String(r.foldedRows)}`,
          `tasks deleted       ${String(r.deletedTasks)}`,
          `metrics deleted     ${String(r.deletedMetrics)}`,
          `health samples      ${String(r.deletedHealth)} deleted`,
          ...Object.entries((r.extra as Record<string, unknown>) ?? {}).map(([k, v]) => `${k.padEnd(19)} ${JSON.stringify(v)}`),
          `took                ${String(r.tookMs)} ms`,
        ].join('\n') + '\n',
      );
    });
}

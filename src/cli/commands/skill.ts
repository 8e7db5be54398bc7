/** `switchyard skill search|list|show|delete|import|reembed|archive|restore`. */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createSkillBody, type CreateSkillBody, type SkillHit } from '../../core/api.js';
import { parseJsonLines } from '../../core/jsonLines.js';
import { parseArchive } from '../../skills/archive.js';
import { UsageError } from '../errors.js';
import { ago, printJson, printTable } from '../output.js';
import { clientFrom, intOption, withConnection, type ClientFlags } from './common.js';

/** A one-line progress bar on stderr when it is a terminal; a line per tenth otherwise (logs, CI). */
export function progress(label: string): { update(done: number, total: number): void; end(): void } {
  const tty = process.stderr.isTTY;
  let lastTenth = -1;
  return {
    update(done, total) {
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      if (tty) {
        const width = 30;
        const full = Math.round(frac * width);
        process.stderr.write(`\r${label} [${'#'.repeat(full)}${'-'.repeat(width - full)}] ${Math.round(frac * 100)}% ${done}/${total}`);
        return;
      }
      const tenth = Math.floor(frac * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`${label} ${Math.round(frac * 100)}% (${done}/${total})\n`);
      }
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

function printHits(items: SkillHit[], empty: string): void {
  printTable(
    items.map((s) => ({ ...s, score: s.score === null ? '-' : s.score.toFixed(3), used: `${s.usageCount}× ${ago(s.lastUsedAt)}` })),
    [
      { key: 'id', title: 'id' },
      { key: 'score', title: 'score' },
      { key: 'used', title: 'used' },
      { key: 'name', title: 'name', max: 70 },
    ],
    empty,
  );
}

/** Skills from a JSON-lines file: one `{ "name", "description", "metadata"? }` per line. */
export function readSkillLines(file: string): CreateSkillBody[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseJsonLines(text, createSkillBody, (m) => new UsageError(m), file);
}

export function registerSkill(program: Command): void {
  const skill = program.command('skill').description('the workspace\'s skill library: what completed tasks taught it');

  withConnection(skill.command('search <text>').description('find skills similar to a text, best first'))
    .option('--limit <n>', 'how many (default 10)')
    .option('--json', 'print JSON')
    .action(async (text: string, f: ClientFlags & { limit?: string }) => {
      const page = await clientFrom(f).skills.search(text, intOption('--limit', f.limit));
      if (f.json) return printJson(page.items);
      printHits(page.items, 'No similar skills.');
    });

  withConnection(skill.command('list').description('list skills, most recently used first'))
    .option('--limit <n>', 'how many (default 50, max 500)')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(async (f: ClientFlags & { limit?: string; cursor?: string }) => {
      const page = await clientFrom(f).skills.list({ limit: intOption('--limit', f.limit), cursor: f.cursor });
      if (f.json) return printJson(page);
      printHits(page.items, 'No skills yet: completed tasks become skills, or add some with `switchyard skill import FILE.jsonl`.');
      if (page.nextCursor) process.stderr.write(`more: --cursor ${page.nextCursor}\n`);
    });

  withConnection(skill.command('show <id>').description('show a skill'))
    .option('--json', 'print JSON')
    .action(async (id: string, f: ClientFlags) => {
      const s = await clientFrom(f).skills.get(id);
      if (f.json) return printJson(s);
      const lines = [
        `${s.id}  ${s.name}`,
        `  used        ${s.usageCount} times, last ${s.lastUsedAt} (${ago(s.lastUsedAt)})`,
        `  created     ${s.createdAt}`,
        `  embedding   ${s.embeddingModel ?? '(waiting)'}`,
      ];
      if (s.sourceTaskId) lines.push(`  from task   ${s.sourceTaskId}${s.agent ? ` (${s.agent}${s.model ? `, ${s.model}` : ''})` : ''}`);
      lines.push(`  description ${s.description}`.replace(/\n/g, '\n              '));
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  withConnection(skill.command('delete <id>').description('delete a skill'))
    .option('--json', 'print JSON')
    .action(async (id: string, f: ClientFlags) => {
      await clientFrom(f).skills.delete(id);
      if (f.json) return printJson({ id, deleted: true });
      process.stdout.write(`${id} deleted\n`);
    });

  withConnection(skill.command('import <file>').description('add skills from a JSON-lines file ({"name", "description", "metadata"?} per line)'))
    .option('--batch <n>', 'skills per request (default 200, max 500)')
    .option('--json', 'print JSON')
    .action(async (file: string, f: ClientFlags & { batch?: string }) => {
      const items = readSkillLines(file);
      const batch = Math.min(500, Math.max(1, intOption('--batch', f.batch) ?? 200));
      const client = clientFrom(f);
      const bar = progress('importing');
      let created = 0;
      let merged = 0;
      bar.update(0, items.length);
      for (let i = 0; i < items.length; i += batch) {
        const r = await client.skills.import(items.slice(i, i + batch));
        created += r.created;
        merged += r.merged;
        bar.update(Math.min(items.length, i + batch), items.length);
      }
      bar.end();
      if (f.json) return printJson({ created, merged });
      process.stdout.write(`${created} skills added, ${merged} merged into near-duplicates\n`);
    });

  withConnection(skill.command('reembed').description('re-embed every skill with another model; old vectors answer queries until it is done'))
    .requiredOption('--model <provider/model>', 'local, hash, or openai/<model> (e.g. openai/text-embedding-3-small)')
    .option('--no-wait', 'start it and return')
    .option('--json', 'print JSON')
    .action(async (f: ClientFlags & { model: string; wait: boolean }) => {
      const client = clientFrom(f);
      let s = await client.skills.reembed(f.model);
      if (f.wait) {
        const bar = progress(`re-embedding with ${s.toModel}`);
        while (s.state === 'running') {
          bar.update(s.done, s.total);
          await new Promise((r) => setTimeout(r, 250));
          s = await client.skills.reembedStatus();
        }
        bar.update(s.done, s.total);
        bar.end();
      }
      if (f.json) return printJson(s);
      if (s.state === 'failed') {
        process.stderr.write(`re-embedding failed after ${s.done} of ${s.total}: ${s.error ?? 'unknown error'}; run the command again to resume\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(s.state === 'done' ? `${s.total} skills now use ${s.activeModel}\n` : `re-embedding with ${s.toModel}: ${s.done}/${s.total}\n`);
    });

  withConnection(skill.command('archive').description('move skills unused for the workspace\'s retention period to cold storage'))
    .option('--older-than-days <n>', 'instead of the workspace\'s skillRetentionDays')
    .option('--json', 'print JSON')
    .action(async (f: ClientFlags & { olderThanDays?: string }) => {
      const r = await clientFrom(f).skills.archive(intOption('--older-than-days', f.olderThanDays));
      if (f.json) return printJson(r);
      process.stdout.write(r.file ? `${r.archived} skills archived to ${r.file}\n` : 'nothing to archive\n');
    });

  withConnection(skill.command('restore <file>').description('bring archived skills back: a local .jsonl.gz file, or a file name in the server\'s archive folder'))
    .option('--json', 'print JSON')
    .action(async (file: string, f: ClientFlags) => {
      const client = clientFrom(f);
      let restored = 0;
      let skipped = 0;
      if (existsSync(file)) {
        const records = parseArchive(readFileSync(file));
        const bar = progress('restoring');
        for (let i = 0; i < records.length; i += 500) {
          const r = await client.skills.restore({ records: records.slice(i, i + 500) });
          restored += r.restored;
          skipped += r.skipped;
          bar.update(Math.min(records.length, i + 500), records.length);
        }
        bar.end();
      } else {
        ({ restored, skipped } = await client.skills.restore({ file }));
      }
      if (f.json) return printJson({ restored, skipped });
      process.stdout.write(`${restored} skills restored${skipped ? `, ${skipped} already present` : ''}\n`);
    });
}

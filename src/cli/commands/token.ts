/** `switchyard token create|list|revoke`. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { ago, printJson, printTable } from '../output.js';
import { clientFrom, intOption, listOption, withConnection, type ClientFlags } from './common.js';

interface TokenFlags extends ClientFlags {
  role?: string;
  name?: string;
  instance?: boolean;
  workspaces?: string;
  expiresInDays?: string;
}

const ROLES = ['admin', 'member', 'viewer', 'daemon'] as const;

export function registerToken(program: Command): void {
  const token = program.command('token').description('manage API tokens');

  withConnection(token.command('create').description('create a token; its secret is shown once'))
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--name <name>', 'what the token is for', 'cli')
    .option('--instance', 'an instance-wide token (admin or daemon) instead of one for a workspace')
    .option('--workspaces <list>', 'instance daemon token: the workspaces it may serve (default all)')
    .option('--expires-in-days <n>', 'expire after this many days')
    .option('--json', 'print JSON')
    .action(async (f: TokenFlags) => {
      if (!ROLES.includes(f.role as (typeof ROLES)[number])) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${f.role}"`);
      const client = clientFrom(f);
      const expiresInDays = intOption('--expires-in-days', f.expiresInDays);
      let created;
      if (f.instance) {
        if (f.role !== 'admin' && f.role !== 'daemon') throw new UsageError('instance-wide tokens are admin or daemon tokens');
        created = await client.tokens.createInstance({ role: f.role, name: f.name ?? 'cli', ...(f.workspaces ? { workspaces: listOption(f.workspaces) } : {}), ...(expiresInDays ? { expiresInDays } : {}) });
      } else {
        const ws = f.workspace ?? (await client.me()).defaultWorkspace;
        created = await client.tokens.create(ws, { role: f.role as (typeof ROLES)[number], name: f.name ?? 'cli', ...(expiresInDays ? { expiresInDays } : {}) });
      }
      if (f.json) return printJson(created);
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`Token ${created.id} (${created.role}${created.workspaceId ? ` in ${created.workspaceId}` : ', instance-wide'}). Save it now: it is not shown again.\n`);
    });

  withConnection(token.command('list').description('list tokens of a workspace (or --instance)'))
    .option('--instance', 'instance-wide tokens')
    .option('--json', 'print JSON')
    .action(async (f: TokenFlags) => {
      const client = clientFrom(f);
      const { items } = f.instance ? await client.tokens.listInstance() : await client.tokens.list(f.workspace ?? (await client.me()).defaultWorkspace);
      if (f.json) return printJson(items);
      printTable(
        items.map((t) => ({ ...t, state: t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? 'expired' : 'active', used: ago(t.lastUsedAt) })),
        [
          { key: 'id', title: 'id' },
          { key: 'name', title: 'name' },
          { key: 'role', title: 'role' },
          { key: 'prefix', title: 'starts with' },
          { key: 'state', title: 'state' },
          { key: 'used', title: 'last used' },
        ],
        'No tokens.',
      );
    });

  withConnection(token.command('revoke <id>').description('revoke a token'))
    .option('--json', 'print JSON')
    .action(async (id: string, f: TokenFlags) => {
      const t = await clientFrom(f).tokens.revoke(id);
      if (f.json) printJson(t);
      else process.stdout.write(`revoked ${t.id} (${t.name})\n`);
    });
}

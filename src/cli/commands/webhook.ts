/**
 * `switchyard webhook create|list|show|update|delete|deliveries|test`: a
 * workspace's webhooks (workspace or instance admin), through the typed
 * client like every other command. The secret is printed once, by create
 * (and by `update --rotate-secret`).
 */
import type { Command } from 'commander';
import { type SwitchyardClient, type Webhook, type WebhookDelivery } from '../../client/index.js';
import { WEBHOOK_EVENTS, WEBHOOK_FORMATS, type WebhookEventType, type WebhookFormat } from '../../core/webhooks.js';
import { UsageError } from '../errors.js';
import { ago, printJson, printTable } from '../output.js';
import { clientFrom, intOption, listOption, withConnection, type ClientFlags } from './common.js';

interface WebhookFlags extends ClientFlags {
  endpoint?: string;
  events?: string;
  format?: string;
  includeRetries?: boolean;
  description?: string;
  secret?: string;
  paused?: boolean;
  active?: string;
  rotateSecret?: boolean;
  status?: string;
  limit?: string;
  cursor?: string;
  wait?: boolean;
  timeout?: string;
}

function eventsOption(value: string | undefined): WebhookEventType[] | undefined {
  const list = listOption(value);
  if (list === undefined) return undefined;
  const all = list.includes('all') ? [...WEBHOOK_EVENTS] : list;
  for (const e of all) if (!(WEBHOOK_EVENTS as readonly string[]).includes(e)) throw new UsageError(`unknown event "${e}"; events are ${WEBHOOK_EVENTS.join(', ')} (or all)`);
  if (all.length === 0) throw new UsageError('--events needs at least one event');
  return all as WebhookEventType[];
}

function formatOption(value: string | undefined): WebhookFormat | undefined {
  if (value === undefined) return undefined;
  if (!(WEBHOOK_FORMATS as readonly string[]).includes(value)) throw new UsageError(`--format must be one of ${WEBHOOK_FORMATS.join(', ')}, got "${value}"`);
  return value as WebhookFormat;
}

function describe(w: Webhook): string {
  return [
    `id            ${w.id}`,
    `url           ${w.url}`,
    `events        ${w.events.join(', ')}`,
    `format        ${w.format}`,
    `state         ${w.active ? 'active' : 'paused'}`,
    `retries       ${w.includeRetries ? 'task.failed also for attempts that will be retried' : 'task.failed only when the task failed for good'}`,
    `secret        ${w.secretPrefix}…`,
    ...(w.description ? [`description   ${w.description}`] : []),
    `created       ${w.createdAt}`,
  ].join('\n');
}

function outcome(d: WebhookDelivery): string {
  if (d.status === 'delivered') return `delivered (HTTP ${d.lastStatus ?? '?'}) after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`;
  if (d.status === 'failed') return `failed after ${d.attempts} attempts: ${d.lastError ?? 'no answer'}`;
  return d.attempts === 0 ? 'pending' : `pending: attempt ${d.attempts} failed (${d.lastError ?? 'no answer'}); next at ${d.nextAttemptAt ?? '?'}`;
}

/** Polls until the first attempt has an outcome (delivered, or an error recorded), or the time is up. */
async function waitFor(client: SwitchyardClient, webhookId: string, d: WebhookDelivery, timeoutMs: number): Promise<WebhookDelivery> {
  const settled = (x: WebhookDelivery) => x.status !== 'pending' || x.lastError !== null;
  const until = Date.now() + timeoutMs;
  let current = d;
  while (!settled(current) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    current = await client.webhooks.delivery(webhookId, d.id);
  }
  return current;
}

export function registerWebhook(program: Command): void {
  const webhook = program.command('webhook').description("a workspace's webhooks: task and runtime events POSTed to a URL (workspace admin)");

  // The receiver's URL is an argument: --url is the Switchyard server's, as in every command.
  withConnection(webhook.command('create <url>').description('subscribe a URL (http or https) to events; its signing secret is shown once'))
    .requiredOption('--events <list>', `comma-separated: ${WEBHOOK_EVENTS.join(', ')}, or all`)
    .option('--format <format>', 'json (signed event) or slack (incoming-webhook message)', 'json')
    .option('--include-retries', 'task.failed also for failed attempts that will be retried (default: only the final failure)')
    .option('--description <text>', 'what it is for')
    .option('--secret <secret>', 'your own signing secret (16–200 characters; default: a random one)')
    .option('--paused', 'create it paused (no events until activated)')
    .option('--json', 'print JSON')
    .action(async (url: string, f: WebhookFlags) => {
      const created = await clientFrom(f).webhooks.create({
        url,
        events: eventsOption(f.events)!,
        format: formatOption(f.format),
        includeRetries: Boolean(f.includeRetries),
        active: !f.paused,
        ...(f.description ? { description: f.description } : {}),
        ...(f.secret ? { secret: f.secret } : {}),
      });
      if (f.json) return printJson(created);
      process.stdout.write(`${created.secret}\n`);
      process.stderr.write(`Webhook ${created.id} → ${created.url} (${created.events.join(', ')}). The line above is its signing secret: save it now, it is not shown again.\n`);
    });

  withConnection(webhook.command('list').description("the workspace's webhooks"))
    .option('--json', 'print JSON')
    .action(async (f: WebhookFlags) => {
      const { items } = await clientFrom(f).webhooks.list();
      if (f.json) return printJson(items);
      printTable(
        items.map((w) => ({ ...w, state: w.active ? 'active' : 'paused', events: w.events.join(',') })),
        [
          { key: 'id', title: 'id' },
          { key: 'url', title: 'url', max: 50 },
          { key: 'events', title: 'events', max: 60 },
          { key: 'format', title: 'format' },
          { key: 'state', title: 'state' },
        ],
        'No webhooks. Add one with: switchyard webhook create <url> --events all',
      );
    });

  withConnection(webhook.command('show <id>').description('one webhook and its latest deliveries'))
    .option('--json', 'print JSON')
    .action(async (id: string, f: WebhookFlags) => {
      const client = clientFrom(f);
      const w = await client.webhooks.get(id);
      if (f.json) return printJson(w);
      process.stdout.write(`${describe(w)}\n`);
      const { items } = await client.webhooks.deliveries(id, { limit: 5 });
      if (items.length > 0) process.stdout.write(`\nlatest deliveries:\n${items.map((d) => `  ${d.createdAt}  ${d.event.padEnd(16)}  ${outcome(d)}`).join('\n')}\n`);
    });

  withConnection(webhook.command('update <id>').description('change a webhook; --active false pauses it'))
    .option('--endpoint <url>', 'new receiver URL')
    .option('--events <list>', 'new event list (replaces the old one)')
    .option('--format <format>', 'json or slack')
    .option('--include-retries', 'task.failed also for attempts that will be retried')
    .option('--no-include-retries', 'task.failed only for final failures')
    .option('--active <bool>', 'true (deliver) or false (paused)')
    .option('--description <text>', 'what it is for')
    .option('--rotate-secret', 'replace the signing secret; the new one is shown once')
    .option('--json', 'print JSON')
    .action(async (id: string, f: WebhookFlags) => {
      if (f.active !== undefined && f.active !== 'true' && f.active !== 'false') throw new UsageError(`--active must be true or false, got "${f.active}"`);
      const body = {
        ...(f.endpoint ? { url: f.endpoint } : {}),
        ...(f.events ? { events: eventsOption(f.events) } : {}),
        ...(f.format ? { format: formatOption(f.format) } : {}),
        ...(f.includeRetries !== undefined ? { includeRetries: f.includeRetries } : {}),
        ...(f.active !== undefined ? { active: f.active === 'true' } : {}),
        ...(f.description !== undefined ? { description: f.description } : {}),
        ...(f.rotateSecret ? { rotateSecret: true as const } : {}),
      };
      if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give --endpoint, --events, --format, --active, --description, --[no-]include-retries or --rotate-secret');
      const w = await clientFrom(f).webhooks.update(id, body);
      if (f.json) return printJson(w);
      if (w.secret) {
        process.stdout.write(`${w.secret}\n`);
        process.stderr.write(`New signing secret of webhook ${w.id} above: save it now, it is not shown again. The old one no longer signs.\n`);
        return;
      }
      process.stdout.write(`${describe(w)}\n`);
    });

  withConnection(webhook.command('delete <id>').description('delete a webhook and its delivery log'))
    .option('--json', 'print JSON')
    .action(async (id: string, f: WebhookFlags) => {
      const w = await clientFrom(f).webhooks.delete(id);
      if (f.json) printJson(w);
      else process.stdout.write(`deleted ${w.id} (${w.url})\n`);
    });

  withConnection(webhook.command('deliveries <id>').description('the delivery log: status, attempts, last answer or error, newest first'))
    .option('--status <status>', 'pending, delivered or failed')
    .option('--limit <n>', 'deliveries per page (1–200)', '20')
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--json', 'print JSON')
    .action(async (id: string, f: WebhookFlags) => {
      if (f.status !== undefined && !['pending', 'delivered', 'failed'].includes(f.status)) throw new UsageError(`--status must be pending, delivered or failed, got "${f.status}"`);
      const page = await clientFrom(f).webhooks.deliveries(id, {
        ...(f.status ? { status: f.status as WebhookDelivery['status'] } : {}),
        limit: intOption('--limit', f.limit),
        ...(f.cursor ? { cursor: f.cursor } : {}),
      });
      if (f.json) return printJson(page);
      printTable(
        page.items.map((d) => ({ ...d, created: ago(d.createdAt), next: d.status === 'pending' ? d.nextAttemptAt : '-', answer: d.lastStatus ?? '-' })),
        [
          { key: 'id', title: 'delivery' },
          { key: 'event', title: 'event' },
          { key: 'status', title: 'status' },
          { key: 'attempts', title: 'attempts' },
          { key: 'answer', title: 'http' },
          { key: 'lastError', title: 'last error', max: 60 },
          { key: 'next', title: 'next attempt' },
          { key: 'created', title: 'created' },
        ],
        'No deliveries yet.',
      );
      if (page.nextCursor) process.stderr.write(`More: --cursor ${page.nextCursor}\n`);
    });

  withConnection(webhook.command('test <id>').description('send a webhook.test event and wait for its first attempt (exit 1 if it did not succeed)'))
    .option('--no-wait', 'queue it and return at once')
    .option('--timeout <seconds>', 'how long to wait for the first attempt', '30')
    .option('--json', 'print JSON')
    .action(async (id: string, f: WebhookFlags) => {
      const client = clientFrom(f);
      const queued = await client.webhooks.test(id);
      const timeout = intOption('--timeout', f.timeout) ?? 30;
      const d = f.wait === false ? queued : await waitFor(client, id, queued, timeout * 1000);
      if (f.json) printJson(d);
      else process.stdout.write(`test delivery ${d.id}: ${outcome(d)}\n`);
      if (f.wait !== false && d.status !== 'delivered') process.exitCode = 1;
    });
}

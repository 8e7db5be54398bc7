/** `switchyard config check`: the resolved configuration, or every problem with its path. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ConfigError } from '../../core/errors.js';
import { loadConfig } from '../env.js';
import { printJson } from '../output.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate the configuration file and print the resolved configuration (defaults and environment applied)')
    .option('--config <file>', 'configuration file (default: ./agent-orchestrator.config.yaml if present)')
    .option('--json', 'print JSON')
    .action((flags: { config?: string; json?: boolean }) => {
      try {
        const { config: resolved, path, overrides } = loadConfig(flags.config);
        // Secrets are not printed back, including a password inside a connection URL.
        const shown = JSON.parse(JSON.stringify({ orchestrator: resolved }, (k, v: unknown) => (['password', 'api_key', 'metrics_token'].includes(k) && v ? '***' : k === 'url' && typeof v === 'string' ? maskUrl(v) : v))) as unknown;
        if (flags.json) return printJson({ ok: true, file: path ?? null, overrides, config: shown });
        process.stdout.write(`# ${path ?? 'no configuration file; defaults'}${overrides.length ? ` (environment overrides: ${overrides.join(', ')})` : ''}\n`);
        process.stdout.write(stringify(shown));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (flags.json) printJson({ ok: false, error: err.message, issues: err.details });
        else {
          process.stderr.write(`${err.message}:\n`);
          for (const d of err.details) process.stderr.write(`  ${d.path}: ${d.message}\n`);
        }
        process.exitCode = 1;
      }
    });
}

function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Test helpers for adapters: feed a recorded stream through a parser, and run
 * an invocation's argv and stdin through a real exec (no shell) to see exactly
 * what a CLI would receive.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentAdapter, ExitInfo, Invocation, NormalizedEvent, Outcome, RunFacts, RunSpec } from '../../src/agents/types.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'agents');

export function fixtureLines(name: string): string[] {
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  return text.split('\n').filter((line, i, all) => i < all.length - 1 || line !== '');
}

export interface Parsed {
  events: NormalizedEvent[];
  facts: RunFacts;
  outcome: Outcome;
}

export const EXIT_0: ExitInfo = { code: 0, signal: null };

/** Feeds stdout (and optionally stderr) lines through a fresh parser, then asks for the outcome. */
export function parse(adapter: AgentAdapter, stdout: string[], exit: ExitInfo = EXIT_0, stderr: string[] = []): Parsed {
  const parser = adapter.createParser();
  const events: NormalizedEvent[] = [];
  for (const line of stderr) events.push(...parser.onStderr(line));
  for (const line of stdout) events.push(...parser.onStdout(line));
  return { events, facts: parser.facts(), outcome: parser.outcome(exit) };
}

export const kinds = (events: NormalizedEvent[]) => events.map((e) => e.kind);
export const ofKind = (events: NormalizedEvent[], kind: NormalizedEvent['kind']) => events.filter((e) => e.kind === kind);

export function spec(overrides: Partial<RunSpec> = {}): RunSpec {
  return { prompt: 'Say hi', workdir: '/work/tree', scratchDir: '/scratch/run-1', runningAsRoot: false, ...overrides };
}

/** A prompt that would do damage if any shell, option parser or quoting touched it. */
export function hostilePrompt(markerDir: string): string {
  return [
    `$(touch ${markerDir}/pwned)`,
    `\`touch ${markerDir}/pwned2\``,
    '; rm -rf / ; echo "done" && exit 1',
    `it's "quoted" \\ backslashed \\n not-a-newline`,
    'real newline:\n\tthen a tab, a CR\r, ünïcödé, 🚀, NUL-free {model} {prompt} $HOME %PATH%',
    '--help -p --dangerously-skip-permissions',
  ].join('\n');
}

export function markerDir(): string {
  return mkdtempSync(join(tmpdir(), 'switchyard-hostile-'));
}

/** What a process receives for an invocation: its argv after the binary, and its stdin, via a real exec without a shell. */
export function received(inv: Invocation): { argv: string[]; stdin: string } {
  const script = `let s='';process.stdin.setEncoding('utf8');process.stdin.on('data',d=>s+=d);process.stdin.on('end',()=>process.stdout.write(JSON.stringify({argv:process.argv.slice(1),stdin:s})));`;
  const res = spawnSync(process.execPath, ['-e', script, '--', ...inv.args], { input: inv.stdin ?? '', encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`echo process failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as { argv: string[]; stdin: string };
}

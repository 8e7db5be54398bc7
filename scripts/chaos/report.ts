/** Printing a chaos run: progress lines while it runs, then the faults, the checks and the timings. */
import type { CheckResult } from './checks.js';
import type { FaultEvent } from './faults.js';

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function say(t0: number, line: string): void {
  process.stdout.write(`[${secs(Date.now() - t0).padStart(7)}] ${line}\n`);
}

export interface Progress {
  total: number;
  terminal: number;
  byStatus: Record<string, number>;
}

export function progressLine(p: Progress, kills: number, serverRestarts: number): string {
  const states = Object.entries(p.byStatus)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  return `terminal ${p.terminal}/${p.total}  (${states})  daemon kills ${kills}, server restarts ${serverRestarts}`;
}

export function printFaults(events: FaultEvent[]): void {
  process.stdout.write('\nFaults\n');
  if (events.length === 0) process.stdout.write('  none\n');
  for (const e of events) process.stdout.write(`  ${secs(e.atMs).padStart(8)}  ${e.what.padEnd(15)} ${e.target.padEnd(10)} ${e.note ?? ''}\n`);
}

export function printChecks(results: CheckResult[], maxProblems = 8): void {
  process.stdout.write('\nChecks\n');
  const w = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    process.stdout.write(`  ${r.pass ? 'PASS' : 'FAIL'}  ${r.name.padEnd(w)}  ${r.summary}\n`);
    for (const p of r.problems.slice(0, maxProblems)) process.stdout.write(`          - ${p}\n`);
    if (r.problems.length > maxProblems) process.stdout.write(`          … and ${r.problems.length - maxProblems} more\n`);
  }
}

export function printTimings(rows: [string, number][]): void {
  process.stdout.write('\nTimings\n');
  const w = Math.max(...rows.map(([n]) => n.length));
  for (const [n, ms] of rows) process.stdout.write(`  ${n.padEnd(w)}  ${secs(ms).padStart(9)}\n`);
}

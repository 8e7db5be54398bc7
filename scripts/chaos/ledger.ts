/**
 * What really ran, from the fake agent's own ledger (FAKE_AGENT_LEDGER, see
 * test/fixtures/fake-agent.mjs): one file per agent process with its start,
 * every line it printed, a tick every 100 ms, its end, and any other live
 * process of the same task it saw. A process killed with SIGKILL has no end
 * record; its last record (at most ~100 ms before its death) stands in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AgentProcess {
  task: string;
  attempt: number;
  pid: number;
  start: number;
  /** Its end record's time, else its last record's. */
  last: number;
  ended: { why: string; code: number } | undefined;
  /** Line numbers printed, in order. */
  lines: number[];
  overlaps: { otherPid: number; otherAttempt: number; t: number }[];
}

interface Rec {
  k: string;
  t: number;
  n?: number;
  why?: string;
  code?: number;
  otherPid?: number;
  otherAttempt?: number;
}

export function readLedger(dir: string): AgentProcess[] {
  const out: AgentProcess[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^([0-9a-f-]{36})\.(\d+)\.(\d+)\.jsonl$/.exec(name);
    if (!m) continue;
    const p: AgentProcess = { task: m[1]!, attempt: Number(m[2]), pid: Number(m[3]), start: NaN, last: NaN, ended: undefined, lines: [], overlaps: [] };
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line) continue;
      let r: Rec;
      try {
        r = JSON.parse(line) as Rec;
      } catch {
        continue; // a record cut short by SIGKILL
      }
      if (r.k === 'start') p.start = r.t;
      if (r.k === 'line' && r.n !== undefined) p.lines.push(r.n);
      if (r.k === 'end') p.ended = { why: r.why ?? '?', code: r.code ?? 0 };
      if (r.k === 'overlap') p.overlaps.push({ otherPid: r.otherPid ?? 0, otherAttempt: r.otherAttempt ?? 0, t: r.t });
      p.last = Number.isNaN(p.last) ? r.t : Math.max(p.last, r.t);
    }
    if (!Number.isNaN(p.start)) out.push(p);
  }
  return out;
}

/** Agent processes of this ledger still alive (by their environment, so a reused pid is not counted). */
export function liveAgents(ledgerDir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (env.includes(`FAKE_AGENT_LEDGER=${ledgerDir}`)) found.push(Number(name));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

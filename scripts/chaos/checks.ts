/**
 * The end-of-run checks: what the database says against what really ran
 * (the fake agent's ledger) and what the daemons had persisted when they were
 * killed (outbox copies). Each check answers PASS/FAIL with its numbers and
 * the first few offending tasks.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { AgentProcess } from './ledger.js';
import { scriptOf } from './workload.js';

export interface CheckResult {
  name: string;
  pass: boolean;
  summary: string;
  problems: string[];
}

interface TaskRow {
  id: string;
  status: string;
  attempt: number;
  max_attempts: number;
  prompt: string;
  run_after: Date | null;
}

interface RunRow {
  task_id: string;
  attempt: number;
  status: string;
  failure_class: string | null;
  failure_reason: string | null;
  exit_code: number | null;
  started_at: Date;
  ended_at: Date | null;
  seq_start: number;
}

interface EventRow {
  task_id: string;
  seq: number;
  attempt: number;
  stream: string;
  raw: string | null;
}

export interface CheckInput {
  db: pg.Pool;
  ledger: AgentProcess[];
  snapshots: { daemon: string; dir: string }[];
  /** Agent processes still alive after the cluster stopped. */
  leftovers: number[];
  planned: number;
}

/** The reason a restarted daemon gives for a run its predecessor was running (src/daemon/index.ts). */
const RESTARTED = 'the daemon restarted during the run';

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    const list = m.get(k);
    if (list) list.push(i);
    else m.set(k, [i]);
  }
  return m;
}

const result = (name: string, problems: string[], summary: string): CheckResult => ({ name, pass: problems.length === 0, summary, problems });

export async function runChecks(i: CheckInput): Promise<CheckResult[]> {
  const tasks = (await i.db.query<TaskRow>('SELECT id, status, attempt, max_attempts, prompt, run_after FROM tasks')).rows;
  const runs = (await i.db.query<RunRow>('SELECT task_id, attempt, status, failure_class, failure_reason, exit_code, started_at, ended_at, seq_start FROM task_runs ORDER BY task_id, attempt')).rows;
  const events = (await i.db.query<EventRow>('SELECT task_id, seq, attempt, stream, raw FROM task_events ORDER BY task_id, seq, at')).rows;
  const runsOf = groupBy(runs, (r) => r.task_id);
  const eventsOf = groupBy(events, (e) => e.task_id);
  const procsOf = groupBy(i.ledger, (p) => p.task);
  const out: CheckResult[] = [];

  // 1. Every task reached a terminal state (a failed task with a retry scheduled is not terminal).
  {
    const byStatus = new Map<string, number>();
    const problems: string[] = [];
    for (const t of tasks) {
      const terminal = t.status === 'completed' || t.status === 'cancelled' || (t.status === 'failed' && t.run_after === null);
      const label = t.status === 'failed' && t.run_after !== null ? 'failed (retry scheduled)' : t.status;
      byStatus.set(label, (byStatus.get(label) ?? 0) + 1);
      if (!terminal) problems.push(`${t.id}: ${label}, attempt ${t.attempt}/${t.max_attempts}`);
    }
    if (tasks.length < i.planned) problems.unshift(`only ${tasks.length} of ${i.planned} planned tasks exist`);
    const counts = [...byStatus].map(([s, n]) => `${s} ${n}`).join(', ');
    out.push(result('every task terminal', problems, `${tasks.length - problems.length}/${tasks.length} terminal (${counts})`));
  }

  // 2. No task ran more attempts than allowed: the task row, its run rows and the processes that really started.
  {
    const problems: string[] = [];
    let maxUsed = 0;
    for (const t of tasks) {
      const procs = procsOf.get(t.id) ?? [];
      const rs = runsOf.get(t.id) ?? [];
      const attempts = new Set(procs.map((p) => p.attempt));
      maxUsed = Math.max(maxUsed, procs.length);
      if (t.attempt > t.max_attempts) problems.push(`${t.id}: attempt ${t.attempt} > maxAttempts ${t.max_attempts}`);
      if (rs.length > t.max_attempts) problems.push(`${t.id}: ${rs.length} run rows > maxAttempts ${t.max_attempts}`);
      if (procs.length > t.max_attempts) problems.push(`${t.id}: ${procs.length} agent processes started > maxAttempts ${t.max_attempts} (attempts ${[...attempts].join(',')})`);
      if (attempts.size !== procs.length) problems.push(`${t.id}: one attempt number ran in several processes (${procs.map((p) => `${p.attempt}/pid ${p.pid}`).join(', ')})`);
      for (const a of attempts) if (a > t.max_attempts) problems.push(`${t.id}: a process ran attempt ${a} > maxAttempts ${t.max_attempts}`);
    }
    out.push(result('attempts within maxAttempts', problems, `${i.ledger.length} agent processes, ${runs.length} run rows; most processes for one task: ${maxUsed}`));
  }

  // 3. No two runs of one task overlapped in time: what really ran (ledger), and the run rows.
  {
    const problems: string[] = [];
    let pairs = 0;
    for (const [task, procs] of procsOf) {
      const sorted = [...procs].sort((a, b) => a.start - b.start);
      for (let k = 1; k < sorted.length; k++) {
        pairs++;
        const a = sorted[k - 1]!;
        const b = sorted[k]!;
        if (b.start < a.last) problems.push(`${task}: attempt ${b.attempt} (pid ${b.pid}) started ${(a.last - b.start).toFixed(0)} ms before attempt ${a.attempt} (pid ${a.pid}) ended${a.ended ? '' : ' (killed; last seen)'}`);
      }
      for (const p of procs) for (const o of p.overlaps) problems.push(`${task}: attempt ${p.attempt} (pid ${p.pid}) saw attempt ${o.otherAttempt} (pid ${o.otherPid}) alive`);
    }
    out.push(result('no overlapping runs (agent ledger)', [...new Set(problems)], `${i.ledger.length} processes, ${pairs} consecutive pairs compared`));
  }
  {
    const problems: string[] = [];
    for (const [task, rs] of runsOf) {
      for (let k = 1; k < rs.length; k++) {
        const a = rs[k - 1]!;
        const b = rs[k]!;
        if (a.ended_at === null || b.started_at < a.ended_at) problems.push(`${task}: run ${b.attempt} started ${a.ended_at ? `${a.ended_at.getTime() - b.started_at.getTime()} ms before run ${a.attempt} ended` : `while run ${a.attempt} is still open`}`);
      }
    }
    out.push(result('no overlapping runs (run rows)', problems, `${runs.length} run rows`));
  }

  // 4. Each task's events: seq 1..n, no gap, no duplicate; each run's events inside its own seq range.
  {
    const problems: string[] = [];
    for (const [task, es] of eventsOf) {
      let dup = 0;
      let gaps = 0;
      for (let k = 0; k < es.length; k++) {
        if (k > 0 && es[k]!.seq === es[k - 1]!.seq) dup++;
        else if (es[k]!.seq !== (k === 0 ? 1 : es[k - 1]!.seq + 1)) gaps++;
      }
      if (dup) problems.push(`${task}: ${dup} duplicate seq`);
      if (gaps) problems.push(`${task}: ${gaps} gaps (seqs ${es.slice(0, 8).map((e) => e.seq).join(',')}…)`);
      const rs = runsOf.get(task) ?? [];
      for (const e of es) {
        const k = rs.findIndex((r) => r.attempt === e.attempt);
        const r = rs[k];
        const nextStart = rs[k + 1]?.seq_start ?? Infinity;
        if (!r) problems.push(`${task}: seq ${e.seq} of attempt ${e.attempt}, which has no run row`);
        else if (e.seq < r.seq_start || e.seq >= nextStart) problems.push(`${task}: seq ${e.seq} of attempt ${e.attempt} outside its run's range [${r.seq_start}, ${nextStart})`);
      }
    }
    out.push(result('event seq contiguous, no duplicates', [...new Set(problems)], `${events.length} events of ${eventsOf.size} tasks`));
  }

  // 5. Lines: what each run stored is exactly the start of what its process printed, in order, each once;
  //    all of it when the daemon reported the run's end; and everything a killed daemon had persisted
  //    in its outbox, for runs that were still its own when it came back.
  {
    const problems: string[] = [];
    let printed = 0;
    let stored = 0;
    let lostTail = 0;
    let fullRuns = 0;
    const storedOf = new Map<string, string[]>();
    for (const e of events) {
      if (e.stream !== 'stdout') {
        problems.push(`${e.task_id}: unexpected ${e.stream} event seq ${e.seq}: ${(e.raw ?? '').slice(0, 80)}`);
        continue;
      }
      const k = `${e.task_id}.${e.attempt}`;
      const list = storedOf.get(k);
      if (list) list.push(e.raw ?? '');
      else storedOf.set(k, [e.raw ?? '']);
    }
    const runByKey = new Map(runs.map((r) => [`${r.task_id}.${r.attempt}`, r]));
    const procByKey = groupBy(i.ledger, (p) => `${p.task}.${p.attempt}`);
    for (const [k, procs] of procByKey) {
      if (procs.length !== 1) continue; // reported by the attempts check
      const p = procs[0]!;
      const lines = storedOf.get(k) ?? [];
      printed += p.lines.length;
      stored += lines.length;
      for (let n = 0; n < lines.length; n++) {
        if (lines[n] !== `line ${p.lines[n] ?? '?'}`) {
          problems.push(`${k}: stored line ${n + 1} is "${lines[n]}", printed "${p.lines[n] !== undefined ? `line ${p.lines[n]}` : '(nothing)'}"`);
          break;
        }
      }
      const run = runByKey.get(k);
      const reported = run !== undefined && run.status !== 'running' && run.failure_class !== 'runtime_lost';
      if (reported) {
        fullRuns++;
        if (lines.length !== p.lines.length) problems.push(`${k}: the daemon reported the run's end (${run.status}) but ${lines.length} of ${p.lines.length} printed lines are stored`);
      } else lostTail += Math.max(0, p.lines.length - lines.length);
    }
    for (const k of storedOf.keys()) if (!procByKey.has(k)) problems.push(`${k}: lines stored for an attempt no agent process ran`);
    let persisted = 0;
    const rawAt = new Map(events.map((e) => [`${e.task_id}.${e.seq}`, e.raw]));
    for (const s of i.snapshots) {
      if (!existsSync(s.dir)) continue;
      for (const name of readdirSync(s.dir)) {
        const m = /^([0-9a-f-]{36})\.(\d+)\.jsonl$/.exec(name);
        if (!m) continue;
        const k = `${m[1]}.${m[2]}`;
        const run = runByKey.get(k);
        if (run?.failure_reason !== RESTARTED) continue; // reaped before its daemon came back: unacknowledged lines may go
        const lines = storedOf.get(k) ?? [];
        for (const line of readFileSync(join(s.dir, name), 'utf8').split('\n')) {
          let f: { type?: string; events?: { seq: number; raw: string }[] };
          try {
            f = JSON.parse(line) as typeof f;
          } catch {
            continue;
          }
          for (const e of f.type === 'events' ? (f.events ?? []) : []) {
            persisted++;
            if (rawAt.get(`${m[1]}.${e.seq}`) !== e.raw) problems.push(`${k}: seq ${e.seq} ("${e.raw}") was in ${s.daemon}'s outbox when it was killed, but is not stored${lines.length ? '' : ' (no line of the run is)'}`);
          }
        }
      }
    }
    out.push(
      result(
        'printed lines stored',
        [...new Set(problems)],
        `${printed} lines printed, ${stored} stored; ${fullRuns} reported runs complete; ${persisted} outbox lines of restarted daemons checked; ${lostTail} unacknowledged lines went with lost runs`,
      ),
    );
  }

  // 6. Outcomes follow the script in each prompt; failures a script did not ask for must be lost runtimes.
  {
    const problems: string[] = [];
    for (const t of tasks) {
      const { script, failUntil } = scriptOf(t.prompt);
      const rs = runsOf.get(t.id) ?? [];
      const unexpected = rs.filter((r) => r.status === 'failed' && r.failure_class !== 'runtime_lost' && !(script === 'fails' || script === 'permanent' || (script === 'flaky' && r.attempt <= failUntil)));
      if (unexpected.length) problems.push(`${t.id} (${script}): unexpected failure ${unexpected[0]!.failure_class}: ${unexpected[0]!.failure_reason ?? ''}`);
      if (t.status === 'completed' && (script === 'fails' || script === 'permanent')) problems.push(`${t.id} (${script}): completed`);
      if (script === 'permanent' && rs.filter((r) => r.failure_class === 'missing_executable').length > 1) problems.push(`${t.id}: a permanent failure was retried`);
    }
    out.push(result('outcomes follow each task\'s script', problems, `${tasks.length} tasks`));
  }

  // 7. Nothing left running once the daemons stopped.
  out.push(result('no agent process left running', i.leftovers.map((pid) => `pid ${pid} still running`), `${i.leftovers.length} left`));
  return out;
}

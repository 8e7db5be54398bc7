/**
 * Summarises a V8 .cpuprofile (from --cpu-prof or the inspector): total
 * sampled time, idle share, self time by function and by package/file, and
 * the inclusive time of chosen functions.
 *
 * Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--incl name,name]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  gcMs: number;
  byFunction: { name: string; ms: number }[];
  byFile: { file: string; ms: number }[];
  inclusive: { name: string; ms: number }[];
}

function fileGroup(url: string): string {
  if (!url) return '(native/VM)';
  if (url.startsWith('node:')) return url.replace(/^node:internal\/([^/]+).*/, 'node:internal/$1');
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return `npm:${m[1]}`;
  const s = /\/(src|dist|bench)\/(.*)$/.exec(url);
  return s ? `${s[1]}/${s[2]}` : url;
}

export function summarizeProfile(path: string, top = 20, inclusiveNames: string[] = []): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let total = 0;
  let idle = 0;
  let gc = 0;
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    total += ms;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += ms;
      continue;
    }
    if (name === '(garbage collector)') gc += ms;
    const key = `${name} ${fileGroup(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + ms);
    const g = fileGroup(n.callFrame.url);
    file.set(g, (file.get(g) ?? 0) + ms);
    // Inclusive: charge every distinct chosen ancestor once.
    if (inclusiveNames.length) {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const c = byId.get(cur)!;
        const nm = c.callFrame.functionName;
        if (inclusiveNames.includes(nm) && !seen.has(nm)) {
          seen.add(nm);
          incl.set(nm, (incl.get(nm) ?? 0) + ms);
        }
      }
    }
  }
  const sorted = <K>(m: Map<K, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total,
    idleMs: idle,
    gcMs: gc,
    byFunction: sorted(fn).slice(0, top).map(([name, ms]) => ({ name, ms })),
    byFile: sorted(file).slice(0, top).map(([f, ms]) => ({ file: f, ms })),
    inclusive: sorted(incl).map(([name, ms]) => ({ name, ms })),
  };
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const busy = s.totalMs - s.idleMs;
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1)}%`;
  const lines = [`${title}: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s on CPU (${((busy / s.totalMs) * 100).toFixed(0)}%), GC ${pct(s.gcMs)} of CPU`];
  lines.push('  self time by package/file:');
  for (const f of s.byFile.slice(0, 12)) lines.push(`    ${pct(f.ms).padStart(6)}  ${f.ms.toFixed(0).padStart(6)} ms  ${f.file}`);
  lines.push('  self time by function:');
  for (const f of s.byFunction.slice(0, 15)) lines.push(`    ${pct(f.ms).padStart(6)}  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}`);
  if (s.inclusive.length) {
    lines.push('  inclusive:');
    for (const f of s.inclusive) lines.push(`    ${pct(f.ms).padStart(6)}  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const a = process.argv.slice(2);
  const topI = a.indexOf('--top');
  const inclI = a.indexOf('--incl');
  const top = topI >= 0 ? Number(a[topI + 1]) : 20;
  const incl = inclI >= 0 ? a[inclI + 1]!.split(',') : [];
  for (const f of a.filter((x, i) => !x.startsWith('--') && a[i - 1] !== '--top' && a[i - 1] !== '--incl')) {
    process.stdout.write(`${formatSummary(f, summarizeProfile(f, top, incl))}\n\n`);
  }
}

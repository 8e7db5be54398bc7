/** Printing for people (aligned tables) and for machines (--json). */

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function table(rows: Record<string, unknown>[], columns: { key: string; title: string; max?: number }[]): string {
  if (rows.length === 0) return '';
  const cell = (v: unknown, max = 60) => {
    const s = v === null || v === undefined ? '-' : String(v).replace(/\s+/g, ' ');
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  };
  const cells = rows.map((r) => columns.map((c) => cell(r[c.key], c.max)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.title.toUpperCase())), ...cells.map(line)].join('\n');
}

export function printTable(rows: Record<string, unknown>[], columns: { key: string; title: string; max?: number }[], empty: string): void {
  process.stdout.write(`${rows.length === 0 ? empty : table(rows, columns)}\n`);
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

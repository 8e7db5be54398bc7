/**
 * Turns configuration text plus the environment into a validated
 * configuration, or into every error found, each with its YAML path, its
 * line when the file has it, and what was expected. Pure: the caller reads
 * the file and passes `process.env`.
 */
import { isMap, isSeq, LineCounter, parseDocument, parse as parseYamlScalar, type Document } from 'yaml';
import type { z } from 'zod';
import { configFileSchema, type ConfigFile } from './schema.js';

export type Orchestrator = ConfigFile['orchestrator'];

export interface ConfigIssue {
  /** Dotted YAML path, e.g. `orchestrator.runtime.cpu_threshold`, or the environment variable. */
  path: string;
  message: string;
  line?: number;
}

export type ParseResult = { ok: true; config: Orchestrator; overrides: string[] } | { ok: false; issues: ConfigIssue[] };

/** Environment variables with a fixed meaning, and the config path each one sets. */
const NAMED_ENV: Record<string, { path: string[]; type: 'string' | 'number' }> = {
  DATABASE_URL: { path: ['database', 'url'], type: 'string' },
  SWITCHYARD_PORT: { path: ['runtime', 'daemon_port'], type: 'number' },
  SWITCHYARD_HOST: { path: ['runtime', 'host'], type: 'string' },
};
/** `SWITCHYARD_RUNTIME__CPU_THRESHOLD=0.9` sets `orchestrator.runtime.cpu_threshold`. */
const PATH_ENV = /^SWITCHYARD_([A-Z0-9_]+?(?:__[A-Z0-9_]+)+)$/;

export function parseConfig(text: string, env: Record<string, string | undefined> = {}): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: '(file)',
        message: e.message.split('\n')[0] ?? e.message,
        // With prettyErrors off, `linePos` is not filled in: compute it from the offset.
        line: e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line,
      })),
    };
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, issues: [{ path: '(file)', message: 'expected a mapping with an `orchestrator:` key at the top' }] };
  }
  const root = raw as Record<string, unknown>;
  const overrides = applyEnv(root, env);
  const parsed = configFileSchema.safeParse(root, { reportInput: true });
  if (!parsed.success) {
    return { ok: false, issues: parsed.error.issues.flatMap((issue) => perKey(issue)).map((issue) => toIssue(issue, doc, lineCounter, overrides)) };
  }
  return { ok: true, config: parsed.data.orchestrator, overrides: overrides.map((o) => o.env) };
}

interface Override {
  env: string;
  path: string[];
}

function applyEnv(root: Record<string, unknown>, env: Record<string, string | undefined>): Override[] {
  const applied: Override[] = [];
  const set = (path: string[], value: unknown, envName: string) => {
    let node = (root.orchestrator ??= {}) as Record<string, unknown>;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = (typeof next === 'object' && next !== null && !Array.isArray(next) ? next : (node[key] = {})) as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
    applied.push({ env: envName, path });
  };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    const named = NAMED_ENV[name];
    if (named) {
      set(named.path, named.type === 'number' ? scalar(value) : value, name);
      continue;
    }
    const m = PATH_ENV.exec(name);
    if (m?.[1]) set(m[1].toLowerCase().split('__'), scalar(value), name);
  }
  return applied;
}

/** Environment values are read as YAML scalars, so `0.9`, `true` and `15s` mean what they would in the file. */
function scalar(value: string): unknown {
  try {
    return parseYamlScalar(value);
  } catch {
    return value;
  }
}

/** An unknown key is reported at the key itself (its path and line), one issue per key, so `(from SWITCHYARD_…)` can name the variable that set it. */
function perKey(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'unrecognized_keys') return [issue];
  return issue.keys.map((key) => ({ ...issue, keys: [key], path: [...issue.path, key] }));
}

function toIssue(issue: z.core.$ZodIssue, doc: Document, lc: LineCounter, overrides: Override[]): ConfigIssue {
  const path = issue.path.map((p) => String(p));
  const fromEnv = overrides.find((o) => o.path.join('.') === path.slice(1).join('.'));
  const dotted = path.length > 0 ? path.join('.') : '(file)';
  const message = describe(issue);
  if (fromEnv) return { path: `${dotted} (from ${fromEnv.env})`, message };
  return { path: dotted, message, line: lineOf(doc, lc, issue.path) };
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `required: expected ${issue.expected}`;
    return `expected ${issue.expected}, got ${typeName(issue.input)}`;
  }
  return issue.message;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function lineOf(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): number | undefined {
  // Walk as deep as the document goes; a missing key reports the line of its parent.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true);
    if (node && typeof node === 'object' && 'range' in node) {
      const range = (node as { range?: [number, number, number] }).range;
      if (range) return lc.linePos(range[0]).line;
    }
    if (depth === 0) break;
    const parent = doc.getIn(path.slice(0, depth - 1) as unknown[], true);
    if (!isMap(parent) && !isSeq(parent)) continue;
  }
  return undefined;
}

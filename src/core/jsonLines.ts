/**
 * JSON lines checked record by record against a schema: the skill import
 * file of the CLI and the skill archives of the server. Errors name the line
 * (1-based) and what is wrong with it; the caller decides the error's kind.
 */
import type { z } from 'zod';

export function parseJsonLines<S extends z.ZodType>(text: string, schema: S, fail: (message: string) => Error, label: string): z.infer<S>[] {
  const out: z.infer<S>[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw fail(`${label} line ${i + 1} is not JSON`);
    }
    const r = schema.safeParse(json);
    if (!r.success) throw fail(`${label} line ${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.') || 'line'} ${x.message}`).join('; ')}`);
    out.push(r.data);
  });
  return out;
}

/**
 * Durations (`15s`, `250ms`, `5m`) and sizes (`1MB`, `512kb`) as they appear in
 * the configuration file. Parsing is delegated to the `ms` and `bytes`
 * packages; these wrappers only add the validation messages.
 */
import bytes from 'bytes';
import ms from 'ms';
import { z } from 'zod';

/** A duration: a number of milliseconds, or a string such as `15s`, `250ms`, `2m`, `1h`. */
export const durationMs = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = typeof value === 'number' ? value : ms(value.trim() as ms.StringValue);
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as "15s", "250ms" or "2m", got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return Math.round(parsed);
});

/** A size: a number of bytes, or a string such as `1MB`, `512kb`. */
export const sizeBytes = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = typeof value === 'number' ? value : bytes.parse(value.trim());
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a size such as "1MB" or "512KB", got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return Math.floor(parsed);
});

export function formatDuration(msValue: number): string {
  return ms(msValue);
}

export function formatSize(n: number): string {
  return bytes.format(n) ?? `${n}B`;
}

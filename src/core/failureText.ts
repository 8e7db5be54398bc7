/**
 * Failure classes read from an agent's own error text, and the reset time of a
 * usage limit. The daemon uses the class to decide whether a retry can help
 * (an expired login cannot, a rate limit can after `retryAt`). Only text that
 * clearly says so gets a class; anything else is left unclassified.
 *
 * Reset times come in the CLIs' own words, so every form seen in the wild is
 * read: epoch seconds (`Claude AI usage limit reached|1767225600`, Codex
 * `resets_at`), ISO times, durations (`resets in 1d 5h`, Gemini `retry in
 * 35.2s`) and wall-clock times (`resets 3:45pm (Australia/Brisbane)`, Codex
 * `try again at Jul 9th, 2026 1:47 AM`). A wall-clock time without a zone is
 * the daemon's local time: the CLI printed it on the same machine.
 */

export type FailureClass = 'auth' | 'rate_limited' | 'context_overflow' | 'agent_error' | 'invalid_output';

export interface FailureHint {
  failureClass?: FailureClass;
  retryAt?: string;
}

const CONTEXT =
  /context[ _-]?(?:window|length)|prompt is too long|maximum context|input (?:is )?too long|exceeds? the (?:maximum|context)|input token count/i;
const RATE =
  /rate[ _-]?limit|usage[ _-]?limit|hit your \w+ limit|limit reached|quota|too many requests|resource[_ ]exhausted|\b429\b/i;
const AUTH =
  /\b401\b|\b403\b|unauthori[sz]ed|authenticat|invalid[ _-](?:x-)?api[ _-]?key|api key not valid|not logged in|run \/login|(?:log|sign) ?in again|login required|permission_denied/i;

/** The class an error text clearly states, most specific first; `undefined` when it says none. */
export function classifyText(text: string, now = Date.now()): FailureHint {
  if (CONTEXT.test(text)) return { failureClass: 'context_overflow' };
  if (RATE.test(text)) {
    const retryAt = parseRetryAt(text, now);
    return retryAt ? { failureClass: 'rate_limited', retryAt } : { failureClass: 'rate_limited' };
  }
  if (AUTH.test(text)) return { failureClass: 'auth' };
  return {};
}

/** The class an HTTP status stands for, when it stands for one. */
export function classifyStatus(status: number | undefined): FailureClass | undefined {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limited';
  if (status === 413) return 'context_overflow';
  return undefined;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const EPOCH = /(?:\||resets?_?at["'\s:=]+)(\d{13}|\d{10})\b/i;
const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/;
// No \b after the unit: Gemini writes durations run together (`2h35m20s`).
const UNIT = String.raw`(?:days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)(?![a-z])`;
const DURATION = new RegExp(String.raw`\b(?:in|after)\s+((?:\d+(?:\.\d+)?\s*${UNIT}[\s,]*(?:and\s+)?)+)`, 'i');
const RETRY_DELAY = /retry_?delay["'\s:=]+"?(\d+(?:\.\d+)?)s/i;
const CLOCK = String.raw`(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?(?:\s*\(([^)]+)\))?`;
const DATE_TIME = new RegExp(
  String.raw`\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4}),?\s+(?:at\s+)?${CLOCK}`,
  'i',
);
const TIME = new RegExp(String.raw`\b(?:at|resets?|until)\s+(?:(sun|mon|tue|wed|thu|fri|sat)[a-z]*\.?\s+)?${CLOCK}`, 'i');

/** The reset time a rate-limit message names, as an ISO string; `undefined` when it names none. */
export function parseRetryAt(text: string, now = Date.now()): string | undefined {
  const epoch = EPOCH.exec(text);
  if (epoch?.[1]) return iso(epoch[1].length === 13 ? Number(epoch[1]) : Number(epoch[1]) * 1000);
  const isoTime = ISO_TIME.exec(text);
  if (isoTime && !Number.isNaN(Date.parse(isoTime[0]))) return iso(Date.parse(isoTime[0]));
  const duration = DURATION.exec(text);
  if (duration?.[1]) return iso(now + durationMs(duration[1]));
  const delay = RETRY_DELAY.exec(text);
  if (delay?.[1]) return iso(now + Number(delay[1]) * 1000);
  const dated = DATE_TIME.exec(text);
  if (dated) {
    const [, mon = '', day = '', year = '', h = '', mi, ampm, zone] = dated;
    const hour = hour24(h, ampm);
    if (hour !== undefined) return iso(zonedToUtc(Number(year), MONTHS.indexOf(mon.toLowerCase()), Number(day), hour, Number(mi ?? 0), zoneOf(zone)));
  }
  const clock = TIME.exec(text);
  if (clock) {
    const [, weekday, h = '', mi, ampm, zone] = clock;
    const hour = hour24(h, ampm);
    // "at 3" alone is too vague to be a time; a clock time has minutes or am/pm.
    if (hour !== undefined && (mi !== undefined || ampm !== undefined)) {
      const wd = weekday ? DAYS.indexOf(weekday.toLowerCase()) : undefined;
      const at = nextOccurrence(now, hour, Number(mi ?? 0), zoneOf(zone), wd);
      if (at !== undefined) return iso(at);
    }
  }
  return undefined;
}

function iso(ms: number): string | undefined {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

function durationMs(text: string): number {
  let total = 0;
  for (const [, n = '0', unit = ''] of text.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/gi)) {
    const u = unit.toLowerCase();
    const factor = u.startsWith('d') ? 86_400_000 : u.startsWith('h') ? 3_600_000 : u.startsWith('m') ? 60_000 : 1000;
    total += Number(n) * factor;
  }
  return total;
}

function hour24(h: string, ampm: string | undefined): number | undefined {
  let hour = Number(h);
  if (ampm) {
    if (hour < 1 || hour > 12) return undefined;
    const pm = ampm.toLowerCase().startsWith('p');
    hour = (hour % 12) + (pm ? 12 : 0);
  }
  return hour <= 23 ? hour : undefined;
}

/** A zone name the runtime knows, else the local zone. */
function zoneOf(name: string | undefined): string | undefined {
  if (!name) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name.trim() });
    return name.trim();
  } catch {
    return undefined;
  }
}

interface WallClock {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

function wallClock(ms: number, zone: string | undefined): WallClock {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const part = (type: string) => Number(fmt.formatToParts(ms).find((p) => p.type === type)?.value ?? 0);
  return { y: part('year'), mo: part('month') - 1, d: part('day'), h: part('hour') % 24, mi: part('minute'), s: part('second') };
}

function zoneOffset(ms: number, zone: string | undefined): number {
  const w = wallClock(ms, zone);
  return Date.UTC(w.y, w.mo, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000;
}

/** The instant a wall-clock time in a zone stands for (the offset is taken twice to land right across DST changes). */
function zonedToUtc(y: number, mo: number, d: number, h: number, mi: number, zone: string | undefined): number {
  const asUtc = Date.UTC(y, mo, d, h, mi);
  const first = asUtc - zoneOffset(asUtc, zone);
  return asUtc - zoneOffset(first, zone);
}

function nextOccurrence(now: number, h: number, mi: number, zone: string | undefined, weekday: number | undefined): number | undefined {
  const today = wallClock(now, zone);
  for (let add = 0; add <= 8; add++) {
    const day = new Date(Date.UTC(today.y, today.mo, today.d + add));
    if (weekday !== undefined && day.getUTCDay() !== weekday) continue;
    const at = zonedToUtc(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), h, mi, zone);
    if (at > now) return at;
  }
  return undefined;
}

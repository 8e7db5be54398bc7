import { describe, expect, it } from 'vitest';
import { classifyStatus, classifyText, parseRetryAt } from '../../src/core/failureText.js';

const NOW = Date.parse('2026-11-26T10:00:00Z');

describe('classifyText', () => {
  it.each([
    ['Invalid API key · Fix external API key', 'auth'],
    ['API key not valid. Please pass a valid API key.', 'auth'],
    ['Not logged in · Please run /login', 'auth'],
    ['Your access token could not be refreshed. Please log out and sign in again.', 'auth'],
    ['API Error: Request rejected (429) · rate limit', 'rate_limited'],
    ['You’ve hit your usage limit. Upgrade to Pro', 'rate_limited'],
    ['Quota exceeded for quota metric', 'rate_limited'],
    ['RESOURCE_EXHAUSTED', 'rate_limited'],
    ['Prompt is too long · the request is ~215000 tokens', 'context_overflow'],
    ["Codex ran out of room in the model's context window.", 'context_overflow'],
    ['The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', 'context_overflow'],
    ['context_length_exceeded', 'context_overflow'],
  ])('%s → %s', (text, failureClass) => {
    expect(classifyText(text, NOW).failureClass).toBe(failureClass);
  });

  it('leaves anything else unclassified', () => {
    expect(classifyText('API Error: 529 Overloaded. try again in a moment', NOW)).toEqual({});
    expect(classifyText('Tool crashed', NOW)).toEqual({});
  });

  it('maps HTTP statuses', () => {
    expect([401, 403, 429, 413, 500, undefined].map(classifyStatus)).toEqual(['auth', 'auth', 'rate_limited', 'context_overflow', undefined, undefined]);
  });
});

describe('parseRetryAt', () => {
  it.each([
    ['Claude AI usage limit reached|1795703400', '2026-11-26T14:30:00.000Z'],
    ['{"type":"usage_limit_reached","resets_at":1795703400}', '2026-11-26T14:30:00.000Z'],
    ['limit resets at 2026-11-27T08:00:00Z', '2026-11-27T08:00:00.000Z'],
    ['Please retry in 35.2s.', '2026-11-26T10:00:35.200Z'],
    ['resets in 1d 5h', '2026-11-27T15:00:00.000Z'],
    ['try again in 2 hours and 30 minutes', '2026-11-26T12:30:00.000Z'],
    ['quota will reset after 2h35m20s.', '2026-11-26T12:35:20.000Z'],
    ['"retryDelay": "35s"', '2026-11-26T10:00:35.000Z'],
    ['resets 3:30pm (Europe/Berlin)', '2026-11-26T14:30:00.000Z'],
    ['resets 9am (Europe/Berlin)', '2026-11-27T08:00:00.000Z'],
    ['resets Mon 12:00am (UTC)', '2026-11-30T00:00:00.000Z'],
    ['try again at Jul 9th, 2027 1:47 AM (UTC)', '2027-07-09T01:47:00.000Z'],
    ['try again at Aug 10, 2027, 11:12 AM (America/New_York)', '2027-08-10T15:12:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseRetryAt(text, NOW)).toBe(iso);
  });

  it('reads a wall-clock time without a zone as local time', () => {
    const now = new Date(2026, 10, 26, 10, 0).getTime();
    expect(parseRetryAt('try again at 3:45 PM.', now)).toBe(new Date(2026, 10, 26, 15, 45).toISOString());
  });

  it('finds nothing where no time is named', () => {
    expect(parseRetryAt('Please try again later.', NOW)).toBeUndefined();
    expect(parseRetryAt('try again in a few minutes', NOW)).toBeUndefined();
    expect(parseRetryAt('look at 3 things', NOW)).toBeUndefined();
  });
});

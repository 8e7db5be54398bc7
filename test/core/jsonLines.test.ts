import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseJsonLines } from '../../src/core/jsonLines.js';

const schema = z.object({ name: z.string().min(1), n: z.number().int().optional() }).strict();
const fail = (m: string) => new RangeError(m);

describe('parseJsonLines', () => {
  it('answers every record in order, skipping blank lines', () => {
    expect(parseJsonLines('{"name":"a"}\n\n  \n{"name":"b","n":2}\n', schema, fail, 'f.jsonl')).toEqual([{ name: 'a' }, { name: 'b', n: 2 }]);
    expect(parseJsonLines('', schema, fail, 'f.jsonl')).toEqual([]);
  });

  it('names the 1-based line that is not JSON, with the caller\'s error kind', () => {
    expect(() => parseJsonLines('{"name":"a"}\n\n{oops', schema, fail, 'f.jsonl')).toThrow(new RangeError('f.jsonl line 3 is not JSON'));
  });

  it('names the line and every problem of a record that does not fit the schema', () => {
    expect(() => parseJsonLines('{"name":"","n":1.5,"x":1}', schema, fail, 'archive')).toThrowError(/^archive line 1: name .+; n .+; line .+/);
    expect(() => parseJsonLines('[1]', schema, fail, 'archive')).toThrow(RangeError);
  });
});

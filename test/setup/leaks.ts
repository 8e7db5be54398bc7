import { afterAll, expect } from 'vitest';
import { leaked } from '../helpers/leaks.js';

afterAll(() => {
  expect(leaked(), 'servers, daemons, processes or databases left open by this test file').toEqual([]);
});

/**
 * `hash`: feature hashing of words and character trigrams. No model, no
 * network, fully deterministic — for tests and as a fallback. It knows
 * spelling, not meaning: "expiry" and "expiration" share trigrams, "login"
 * and "sign in" share nothing.
 */
import { addHashed, charNgrams, STOP_WORDS, tokenize } from './text.js';
import { normalize, type EmbeddingProvider } from './types.js';

export const HASH_DIMS = 256;

export function hashVector(text: string, dims = HASH_DIMS): Float32Array {
  const v = new Float32Array(dims);
  for (const t of tokenize(text)) {
    if (t.identifier) addHashed(v, `i:${t.raw}`, 1);
    for (const w of t.words) {
      if (STOP_WORDS.has(w)) continue;
      addHashed(v, `w:${w}`, 1);
      for (const g of charNgrams(w)) addHashed(v, `g:${g}`, 0.25);
    }
  }
  return normalize(v);
}

export function createHashProvider(opts: { dims?: number } = {}): EmbeddingProvider {
  const dims = opts.dims ?? HASH_DIMS;
  return {
    id: `hash/words-trigrams-${dims}/1`,
    provider: 'hash',
    dims,
    maxBatch: 10_000,
    dedupDistance: 0.08,
    minSimilarity: 0.25,
    async embed(texts) {
      return texts.map((t) => hashVector(t, dims));
    },
  };
}

/**
 * `local`: the default provider — offline, no API key, no model hub.
 *
 * A sentence vector from word vectors by SIF (Arora et al., 2017): each
 * word weighted by a / (a + p(word)), p estimated from its frequency rank,
 * averaged, then the common component removed. Static word vectors alone
 * lose to keyword overlap on look-alike coding tasks (DESIGN.md §5), so the
 * vector carries a second, lexical part: hashed features of every word
 * (weighted by the same SIF weight, an IDF stand-in) and of identifiers —
 * file names, error codes, function names — which the vocabulary mostly
 * lacks. The two parts are normalised separately and concatenated with
 * fixed weights, so cosine similarity is a fixed mix of "means the same"
 * and "names the same things". bench/skills-quality.ts measures the mix.
 */
import { join } from 'node:path';
import { DEFAULT_MAX_WORDS, loadWordVectors, zipfProbability, type WordVectors } from './localModel.js';
import { addHashed, charNgrams, STOP_WORDS, tokenize } from './text.js';
import { normalize, type EmbeddingProvider } from './types.js';

export interface LocalOptions {
  /** Folder for the converted model file (the data folder's `models/`). */
  modelDir: string;
  maxWords?: number;
  /** Dimensions of the hashed lexical part. */
  lexicalDims?: number;
  /** Share of the semantic part in the cosine (0–1); the lexical part gets the rest. */
  semanticShare?: number;
  /** SIF's smoothing constant. */
  sifA?: number;
}

export const LOCAL_DEFAULTS = { lexicalDims: 156, semanticShare: 0.5, sifA: 1e-3 };

/** Plural and verb endings, tried when a word is not in the vocabulary as written. */
function variants(w: string): string[] {
  const out: string[] = [];
  if (w.endsWith('ies')) out.push(`${w.slice(0, -3)}y`);
  if (w.endsWith('es')) out.push(w.slice(0, -2));
  if (w.endsWith('s')) out.push(w.slice(0, -1));
  if (w.endsWith('ing')) out.push(w.slice(0, -3), `${w.slice(0, -3)}e`);
  if (w.endsWith('ed')) out.push(w.slice(0, -2), w.slice(0, -1));
  return out;
}

export function createLocalEmbedder(wv: WordVectors, opts: Omit<LocalOptions, 'modelDir'> = {}) {
  const lexDims = opts.lexicalDims ?? LOCAL_DEFAULTS.lexicalDims;
  const share = opts.semanticShare ?? LOCAL_DEFAULTS.semanticShare;
  const a = opts.sifA ?? LOCAL_DEFAULTS.sifA;
  const dims = wv.dims + lexDims;
  const semW = Math.sqrt(share);
  const lexW = Math.sqrt(1 - share);

  const rankOf = (w: string): number | undefined => {
    const r = wv.index.get(w);
    if (r !== undefined) return r;
    for (const v of variants(w)) {
      const rv = wv.index.get(v);
      if (rv !== undefined) return rv;
    }
    return undefined;
  };

  interface Unit {
    key: string;
    /** Unit word vector, or undefined for words the vocabulary lacks (matched by spelling only). */
    vec: Float32Array | undefined;
    weight: number;
  }
  const unitCache = new Map<string, Float32Array>();
  const unitVector = (rank: number): Float32Array => {
    const key = String(rank);
    let v = unitCache.get(key);
    if (!v) {
      v = normalize(wv.vectors.slice(rank * wv.dims, (rank + 1) * wv.dims));
      if (unitCache.size > 50_000) unitCache.clear();
      unitCache.set(key, v);
    }
    return v;
  };
  const units = (text: string): Unit[] => {
    const out = new Map<string, Unit>();
    for (const t of tokenize(text)) {
      if (t.identifier && !out.has(`i:${t.raw}`)) out.set(`i:${t.raw}`, { key: `i:${t.raw}`, vec: undefined, weight: 1 });
      for (const w of t.words) {
        if (STOP_WORDS.has(w) || w.length < 2 || out.has(w)) continue;
        const rank = rankOf(w);
        out.set(w, rank === undefined ? { key: w, vec: undefined, weight: 1 } : { key: w, vec: unitVector(rank), weight: a / (a + zipfProbability(rank)) });
      }
    }
    return [...out.values()];
  };
  /** Below this cosine two different words do not count as related. */
  const RELATED = 0.3;

  return {
    dims,
    /**
     * Word alignment: for each query word, its closest word in the text
     * (1 for the same word, the cosine of the word vectors above RELATED,
     * else 0), averaged with the SIF weights. Averaging a whole sentence into
     * one vector blurs the one or two words that tell look-alike tasks apart;
     * aligning keeps them (bench/skills-quality.ts: this ranking lifts hit@3).
     */
    align(query: string, texts: readonly string[]): number[] {
      const q = units(query);
      const total = q.reduce((s, u) => s + u.weight, 0);
      return texts.map((text) => {
        if (total === 0) return 0;
        const s = units(text);
        let sum = 0;
        for (const x of q) {
          let best = 0;
          for (const y of s) {
            let c = 0;
            if (x.key === y.key) c = 1;
            else if (x.vec && y.vec) {
              for (let d = 0; d < wv.dims; d++) c += x.vec[d]! * y.vec[d]!;
              if (c < RELATED) c = 0;
            }
            if (c > best) best = c;
            if (best === 1) break;
          }
          sum += x.weight * best;
        }
        return sum / total;
      });
    },
    embed(text: string): Float32Array {
      const sem = new Float32Array(wv.dims);
      const lex = new Float32Array(lexDims);
      let total = 0;
      for (const t of tokenize(text)) {
        if (t.identifier) addHashed(lex, `i:${t.raw}`, 1);
        for (const w of t.words) {
          if (STOP_WORDS.has(w) || w.length < 2) continue;
          const rank = rankOf(w);
          if (rank === undefined) {
            // Not a dictionary word: a name, a code, jargon. Exact and near spellings match.
            addHashed(lex, `w:${w}`, 1);
            for (const g of charNgrams(w)) addHashed(lex, `g:${g}`, 0.2);
            continue;
          }
          const p = zipfProbability(rank);
          const weight = a / (a + p);
          const off = rank * wv.dims;
          for (let d = 0; d < wv.dims; d++) sem[d]! += weight * wv.vectors[off + d]!;
          total += weight;
          addHashed(lex, `w:${w}`, weight);
        }
      }
      if (total > 0) {
        let proj = 0;
        for (let d = 0; d < wv.dims; d++) proj += sem[d]! * wv.common[d]!;
        for (let d = 0; d < wv.dims; d++) sem[d]! -= proj * wv.common[d]!;
      }
      normalize(sem);
      normalize(lex);
      const out = new Float32Array(dims);
      for (let d = 0; d < wv.dims; d++) out[d] = semW * sem[d]!;
      for (let d = 0; d < lexDims; d++) out[wv.dims + d] = lexW * lex[d]!;
      return normalize(out);
    },
  };
}

export function createLocalProvider(opts: LocalOptions): EmbeddingProvider {
  const maxWords = opts.maxWords ?? DEFAULT_MAX_WORDS;
  const lexDims = opts.lexicalDims ?? LOCAL_DEFAULTS.lexicalDims;
  let embedder: Promise<ReturnType<typeof createLocalEmbedder>> | undefined;
  const get = () => (embedder ??= loadWordVectors(join(opts.modelDir), maxWords).then((wv) => createLocalEmbedder(wv, opts)));
  return {
    id: `local/wink-sg100d-sif-${Math.round(maxWords / 1000)}k-lex${lexDims}/1`,
    provider: 'local',
    dims: 100 + lexDims,
    maxBatch: 1000,
    dedupDistance: 0.04,
    minSimilarity: 0.35,
    async embed(texts) {
      const e = await get();
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i++) {
        out.push(e.embed(texts[i]!));
        // Long batches yield now and then, so the server keeps answering while it embeds.
        if (i % 200 === 199) await new Promise((r) => setImmediate(r));
      }
      return out;
    },
    async rerank(query, texts) {
      return (await get()).align(query, texts);
    },
  };
}

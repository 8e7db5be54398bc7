/**
 * One interface for every embedding provider: an id that names provider,
 * model and version (recorded on every vector), the dimensions, and a
 * batched `embed`. Vectors come back L2-normalised, so cosine similarity is
 * their dot product.
 */
export interface EmbeddingProvider {
  /** provider/model/version, e.g. "local/wink-sg100d-sif/1"; stored as `skills.embedding_model`. */
  readonly id: string;
  /** "local", "hash" or "openai". */
  readonly provider: string;
  readonly dims: number;
  /** Largest batch `embed` sends at once; longer lists are split by the caller or the provider. */
  readonly maxBatch: number;
  /**
   * Cosine distance under which two skills count as the same (dedup). Set per
   * provider: vectors of different providers spread differently.
   */
  readonly dedupDistance: number;
  /** Cosine similarity under which a vector-only match is not worth suggesting. */
  readonly minSimilarity: number;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /**
   * Optional finer similarity of a query to a few candidate texts (0–1 each),
   * used as a third ranking in the fusion. The local provider aligns words:
   * each query word with its closest word of the candidate.
   */
  rerank?(query: string, texts: readonly string[]): Promise<number[]>;
}

/** Thrown by providers; `retryable` tells the indexing worker whether trying later can help. */
export class EmbeddingError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EmbeddingError';
  }
}

export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** pgvector's text form: "[0.1,0.2,…]". */
export function toSqlVector(v: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + (Number.isFinite(v[i]) ? Number(v[i]!.toPrecision(7)) : 0);
  return `${s}]`;
}

export function fromSqlVector(text: string): Float32Array {
  const inner = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  return Float32Array.from(inner ? inner.split(',').map(Number) : []);
}

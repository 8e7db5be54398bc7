/**
 * `openai`: any OpenAI-compatible `POST /v1/embeddings` endpoint — OpenAI,
 * Ollama, vLLM, LM Studio. Batched; each request has a timeout; network
 * errors, timeouts, 429 and 5xx are retried with exponential backoff and full
 * jitter (the same `backoffDelay` as task retries, src/core/retryPolicy.ts),
 * honouring Retry-After; other answers fail at once with the server's own
 * message, since retrying cannot fix a bad key or an unknown model.
 */
import { backoffDelay } from '../core/retryPolicy.js';
import { EmbeddingError, normalize, type EmbeddingProvider } from './types.js';

export interface OpenAiOptions {
  /** e.g. https://api.openai.com/v1 or http://127.0.0.1:11434 (…/v1 is added when missing). */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Ask the endpoint for this many dimensions (models that support it); otherwise whatever it answers. */
  dims?: number;
  timeoutMs?: number;
  batchSize?: number;
  /** Attempts per request after the first. */
  retries?: number;
  retryBaseMs?: number;
  retryCapMs?: number;
}

export function embeddingsUrl(baseUrl: string): string {
  const u = baseUrl.replace(/\/+$/, '');
  return /\/v\d+$/.test(u) ? `${u}/embeddings` : `${u}/v1/embeddings`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    }, { once: true });
  });

function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function createOpenAiProvider(o: OpenAiOptions): EmbeddingProvider {
  const url = embeddingsUrl(o.baseUrl);
  const timeoutMs = o.timeoutMs ?? 30_000;
  const retries = o.retries ?? 3;
  const backoff = { baseMs: o.retryBaseMs ?? 500, capMs: o.retryCapMs ?? 10_000 };
  const batchSize = o.batchSize ?? 64;
  let dims = o.dims ?? 0;

  async function once(input: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify({ model: o.model, input, encoding_format: 'float', ...(o.dims ? { dimensions: o.dims } : {}) }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      const timedOut = timeout.aborted;
      throw new EmbeddingError(timedOut ? `embedding endpoint ${url} did not answer within ${timeoutMs} ms` : `cannot reach embedding endpoint ${url}: ${(err as Error).message}`, true, { cause: err });
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      let detail = text.slice(0, 300);
      try {
        const j = JSON.parse(text) as { error?: { message?: string } | string };
        detail = typeof j.error === 'string' ? j.error : (j.error?.message ?? detail);
      } catch {
        // not JSON: keep the start of the body
      }
      const retryable = res.status === 429 || res.status >= 500 || res.status === 408;
      const e = new EmbeddingError(`embedding endpoint ${url} answered ${res.status}${detail ? `: ${detail}` : ''}${res.status === 401 ? ' (check the API key)' : res.status === 404 ? ` (check the base URL and that model "${o.model}" exists)` : ''}`, retryable);
      (e as EmbeddingError & { retryAfterMs?: number }).retryAfterMs = retryAfterMs(res.headers.get('retry-after'));
      throw e;
    }
    let body: { data?: { index?: number; embedding?: unknown }[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new EmbeddingError(`embedding endpoint ${url} answered with a body that is not JSON`, true);
    }
    const data = Array.isArray(body.data) ? [...body.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)) : [];
    if (data.length !== input.length) throw new EmbeddingError(`embedding endpoint ${url} answered ${data.length} vectors for ${input.length} texts`, false);
    return data.map((d) => {
      if (!Array.isArray(d.embedding) || d.embedding.some((x) => typeof x !== 'number')) throw new EmbeddingError(`embedding endpoint ${url} answered a vector that is not a list of numbers (base64 encoding is not supported)`, false);
      const v = Float32Array.from(d.embedding as number[]);
      if (dims === 0) dims = v.length;
      if (v.length !== dims) throw new EmbeddingError(`model ${o.model} answered ${v.length} dimensions; earlier answers had ${dims}`, false);
      return normalize(v);
    });
  }

  async function withRetries(input: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(input, signal);
      } catch (err) {
        if (!(err instanceof EmbeddingError) || !err.retryable || attempt > retries) throw err;
        const hinted = (err as EmbeddingError & { retryAfterMs?: number }).retryAfterMs;
        await sleep(Math.min(backoff.capMs, hinted ?? backoffDelay(attempt, Math.random(), backoff)), signal);
      }
    }
  }

  return {
    id: `openai/${o.model}${o.dims ? `/d${o.dims}` : ''}`,
    provider: 'openai',
    get dims() {
      return dims;
    },
    maxBatch: batchSize,
    dedupDistance: 0.05,
    minSimilarity: 0.3,
    async embed(texts, signal) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) out.push(...(await withRetries(texts.slice(i, i + batchSize), signal)));
      return out;
    },
  };
}

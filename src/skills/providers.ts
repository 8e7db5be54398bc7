/**
 * Which provider a workspace uses, from its `embedding` settings (the
 * config's `orchestrator.workspace.embedding`, stored in the workspace's
 * settings without the API key), and which one a `provider/model` name asks
 * for (`skill reembed --model`). Providers are cached: the local one holds
 * ~60 MB of word vectors, loaded once per process.
 */
import { ValidationError } from '../core/errors.js';
import { createHashProvider } from './hashProvider.js';
import { createLocalProvider } from './localProvider.js';
import { createOpenAiProvider } from './openaiProvider.js';
import type { EmbeddingProvider } from './types.js';

export interface EmbeddingSettings {
  provider: 'local' | 'hash' | 'openai';
  model?: string;
  base_url?: string;
  api_key?: string;
  dims?: number;
  timeout?: number;
  batch_size?: number;
}

export interface ProviderContext {
  /** Folder for the local model's converted word vectors. */
  modelDir: string;
  /** Settings of openai-compatible endpoints (base URL, key) when a name gives only the model. */
  openaiDefaults?: Partial<EmbeddingSettings>;
  /** Per-request retry tuning of the openai provider (tests shorten it). */
  openaiRetryBaseMs?: number;
}

export function parseSettings(v: unknown): EmbeddingSettings | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const provider = o.provider;
  if (provider !== 'local' && provider !== 'hash' && provider !== 'openai') return undefined;
  const s: EmbeddingSettings = { provider };
  if (typeof o.model === 'string') s.model = o.model;
  if (typeof o.base_url === 'string') s.base_url = o.base_url;
  if (typeof o.api_key === 'string') s.api_key = o.api_key;
  if (typeof o.dims === 'number') s.dims = o.dims;
  if (typeof o.timeout === 'number') s.timeout = o.timeout;
  if (typeof o.batch_size === 'number') s.batch_size = o.batch_size;
  return s;
}

/** "local", "hash", "hash/words-trigrams-128/1", "openai/text-embedding-3-small", "openai/nomic-embed-text:latest/d768" → settings. */
export function settingsFromName(name: string, ctx: ProviderContext): EmbeddingSettings {
  const [provider, ...rest] = name.split('/');
  if (provider === 'local') return { provider: 'local' };
  if (provider === 'hash') {
    const m = /^words-trigrams-(\d+)$/.exec(rest[0] ?? '');
    return m ? { provider: 'hash', dims: Number(m[1]) } : { provider: 'hash' };
  }
  if (provider === 'openai') {
    if (rest.length === 0) throw new ValidationError('name the model: openai/<model>, e.g. openai/text-embedding-3-small');
    const last = rest[rest.length - 1]!;
    const dims = /^d(\d+)$/.exec(last);
    const model = (dims ? rest.slice(0, -1) : rest).join('/');
    const d = ctx.openaiDefaults ?? {};
    return { ...d, provider: 'openai', model, ...(dims ? { dims: Number(dims[1]) } : { dims: undefined }) };
  }
  throw new ValidationError(`unknown embedding provider "${provider}"; use local, hash or openai/<model>`);
}

const cache = new Map<string, EmbeddingProvider>();

export function providerFor(s: EmbeddingSettings, ctx: ProviderContext): EmbeddingProvider {
  const key = JSON.stringify([s, ctx.modelDir, ctx.openaiRetryBaseMs ?? null]);
  let p = cache.get(key);
  if (p) return p;
  switch (s.provider) {
    case 'hash':
      p = createHashProvider({ dims: s.dims });
      break;
    case 'local':
      p = createLocalProvider({ modelDir: ctx.modelDir });
      break;
    case 'openai': {
      const baseUrl = s.base_url ?? ctx.openaiDefaults?.base_url ?? process.env.OPENAI_BASE_URL;
      if (!baseUrl) throw new ValidationError('the openai embedding provider needs base_url (orchestrator.workspace.embedding.base_url or OPENAI_BASE_URL)');
      if (!s.model) throw new ValidationError('the openai embedding provider needs a model (orchestrator.workspace.embedding.model)');
      const apiKey = s.api_key ?? ctx.openaiDefaults?.api_key ?? process.env.OPENAI_API_KEY;
      p = createOpenAiProvider({
        baseUrl,
        model: s.model,
        ...(apiKey ? { apiKey } : {}),
        ...(s.dims ? { dims: s.dims } : {}),
        ...(s.timeout ? { timeoutMs: s.timeout } : {}),
        ...(s.batch_size ? { batchSize: s.batch_size } : {}),
        ...(ctx.openaiRetryBaseMs !== undefined ? { retryBaseMs: ctx.openaiRetryBaseMs } : {}),
      });
      break;
    }
  }
  cache.set(key, p);
  return p;
}

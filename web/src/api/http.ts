/**
 * A small typed fetch layer over /api/v1. Answers are trusted as the types
 * the server's schemas declare (the server validates its own responses); no
 * runtime schema library is shipped to the browser.
 */

/** The server answered with an error (`{ error: { code, message, details } }`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server could not be reached at all (down, restarting, offline). */
export class UnreachableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('cannot reach the Switchyard server', options);
    this.name = 'UnreachableError';
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface Http {
  request<T>(method: string, path: string, opts?: { query?: Query; body?: unknown }): Promise<T>;
}

export interface HttpOptions {
  /** Origin of the server; the page's own origin in production. */
  baseUrl: string;
  token: string;
  /** Called on 401, so the app can send the user back to sign-in. */
  onUnauthorized?: (err: ApiError) => void;
  fetchImpl?: typeof fetch;
}

export function createHttp(opts: HttpOptions): Http {
  const doFetch = opts.fetchImpl ?? fetch.bind(globalThis);
  return {
    async request<T>(method: string, path: string, { query, body }: { query?: Query; body?: unknown } = {}): Promise<T> {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      const url = `${opts.baseUrl}/api/v1${path}${q.size ? `?${q}` : ''}`;
      let res: Response;
      try {
        res = await doFetch(url, {
          method,
          headers: { authorization: `Bearer ${opts.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
      } catch (err) {
        throw new UnreachableError({ cause: err });
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (!res.ok) {
        const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
        const err = new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `${res.status} ${res.statusText}`, e?.details);
        if (res.status === 401) opts.onUnauthorized?.(err);
        throw err;
      }
      return json as T;
    },
  };
}

/** A message for people from any error a request can end with. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof UnreachableError) return 'Cannot reach the Switchyard server. Is it running?';
  if (err instanceof Error) return err.message;
  return String(err);
}

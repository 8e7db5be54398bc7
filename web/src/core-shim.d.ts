// The dashboard imports only *types* from src/core/api.ts (nothing of it is
// bundled), but type-checking that file needs the one Node global it uses:
// the server measures metadata with Buffer.byteLength. Declared here, as
// narrowly as possible, instead of giving the dashboard all of Node's types.
declare const Buffer: { byteLength(s: string): number };

// src/core/webhooks.ts (whose types the settings page uses) signs and makes
// ids with node:crypto; only the shapes of the three calls it makes are needed.
declare module 'node:crypto' {
  interface Digest {
    update(data: string, encoding?: 'utf8'): Digest;
    digest(encoding: 'hex'): string;
  }
  export function createHash(algorithm: string): Digest;
  export function createHmac(algorithm: string, key: string): Digest;
  export function randomBytes(size: number): { toString(encoding: 'base64url'): string };
}

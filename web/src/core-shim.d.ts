// The dashboard imports only *types* from src/core/api.ts (nothing of it is
// bundled), but type-checking that file needs the one Node global it uses:
// the server measures metadata with Buffer.byteLength. Declared here, as
// narrowly as possible, instead of giving the dashboard all of Node's types.
declare const Buffer: { byteLength(s: string): number };

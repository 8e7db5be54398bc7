/**
 * permessage-deflate settings for every WebSocket (server and daemon). ws
 * compresses through zlib's thread pool with a small concurrency limit; with
 * thousands of small frames a second the frames queue behind each other and
 * stream latency grew to seconds (bench/dispatch: 50 agents × 100 lines/s,
 * p50 2.2 s with ws's defaults, 5 ms without compression). Compressing only
 * large frames (transcript backfills, long outputs) at the fastest level
 * keeps the bandwidth saving where it matters and the latency where it is.
 * ws applies `threshold` only when no context takeover is negotiated
 * (otherwise every frame is compressed), hence those two flags.
 */
export interface DeflateOptions {
  threshold: number;
  zlibDeflateOptions: { level: number };
  concurrencyLimit: number;
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
}

export function deflateOptions(enabled: boolean): false | DeflateOptions {
  if (!enabled) return false;
  return { threshold: 16 * 1024, zlibDeflateOptions: { level: 1 }, concurrencyLimit: 16, serverNoContextTakeover: true, clientNoContextTakeover: true };
}

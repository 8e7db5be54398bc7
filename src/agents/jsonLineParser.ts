/**
 * The parser frame of a CLI that prints one JSON object with a `type` a line
 * (every known CLI): anything else on stdout is a `raw` event and counts
 * towards "only garbage", stderr goes through the shared error sniffing, and
 * the adapter supplies only what its protocol means.
 */
import { parseJsonLine, str, type Json, type RunState } from './shared.js';
import type { ExitInfo, LineParser, NormalizedEvent, Outcome } from './types.js';

/** The events of one protocol line; `type` is the line's `type` field, already known to be a string. */
export type ProtocolLineHandler = (msg: Json, type: string, line: string) => NormalizedEvent[];

export function createJsonLineParser(st: RunState, handle: ProtocolLineHandler, outcome: (exit: ExitInfo) => Outcome): LineParser {
  return {
    onStdout(line) {
      const msg = parseJsonLine(line);
      const type = str(msg?.type);
      if (!msg || !type) return st.raw(line);
      st.sawProtocol();
      return handle(msg, type, line);
    },
    onStderr: (line) => st.stderr(line),
    facts: () => st.snapshot(),
    outcome,
  };
}

/**
 * A webhook receiver on 127.0.0.1 (node:http): records every request with
 * its raw body and headers, and answers what the test scripts — a status per
 * request, or `hang` to hold the request open until the receiver closes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { track, untrack } from './leaks.js';
import { until } from './wait.js';

export interface Received {
  /** Arrival time (ms since the epoch). */
  at: number;
  method: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as sent (what the signature covers). */
  body: string;
  json: Record<string, unknown>;
}

/** The answer to the nth request (0-based): an HTTP status, or hold it open. */
export type Script = (req: Received, n: number) => number | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  script(fn: Script): void;
  /** Waits until at least `n` requests arrived; answers them all. */
  waitFor(n: number, what?: string, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(script: Script = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  let answer = script;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // recorded as is; the test asserts on it
      }
      const r: Received = { at: Date.now(), method: req.method ?? '', headers: req.headers, body, json };
      received.push(r);
      const status = answer(r, received.length - 1);
      if (status === 'hang') {
        held.push(res);
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 400 ? `receiver says ${status}` : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const handle: Receiver = {
    url,
    received,
    script(fn) {
      answer = fn;
    },
    async waitFor(n, what = `${n} webhook requests`, timeoutMs = 15_000) {
      await until(() => received.length >= n, `${what} (got ${received.length})`, timeoutMs);
      return received;
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      untrack(handle);
    },
  };
  track(handle, `webhook receiver at ${url}`);
  return handle;
}

/** Checks `X-Switchyard-Signature` the way docs/integrations.md tells receivers to. */
export function signatureValid(r: Received, secret: string): boolean {
  const header = String(r.headers['x-switchyard-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`;
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

/**
 * The daemon's one WebSocket to its server: connect, reconnect with
 * exponential backoff and full jitter, answer pings (the ws library does),
 * and give up on a server that stops pinging. Incoming frames are validated;
 * a bad one is logged and dropped.
 */
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { deflateOptions } from '../core/compression.js';
import { backoffDelay } from '../core/retryPolicy.js';
import { serverFrame, type ServerFrame } from '../core/protocol.js';

export interface ConnectionOptions {
  url: string;
  token: string;
  log: Logger;
  maxMessageSize: number;
  compression: boolean;
  heartbeatMs: number;
  onOpen(): void;
  onFrame(frame: ServerFrame): void;
  onClose(): void;
}

export class ServerConnection {
  private ws: WebSocket | undefined;
  private failures = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private heartbeatMs: number;
  /** When the server was last heard from (a frame or a ping): its leases of our runs were renewed about then. */
  lastHeardAt = Date.now();

  constructor(private readonly o: ConnectionOptions) {
    this.heartbeatMs = o.heartbeatMs;
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.connect();
  }

  setHeartbeat(ms: number): void {
    this.heartbeatMs = ms;
    this.armWatchdog();
  }

  send(frame: object): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** Bytes queued on the socket and not yet sent. */
  buffered(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    const ws = this.ws;
    if (!ws) return;
    await new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', () => resolve());
      ws.close(1000, 'daemon stopping');
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2_000).unref();
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const target = `${this.o.url.replace(/^http/, 'ws').replace(/\/+$/, '')}/api/v1/daemon/connect`;
    const ws = new WebSocket(target, {
      headers: { authorization: `Bearer ${this.o.token}` },
      maxPayload: this.o.maxMessageSize * 4,
      perMessageDeflate: deflateOptions(this.o.compression),
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.failures = 0;
      this.armWatchdog();
      this.o.log.info({ url: this.o.url }, 'connected to server');
      this.o.onOpen();
    });
    ws.on('ping', () => this.armWatchdog());
    ws.on('message', (data, isBinary) => {
      this.armWatchdog();
      if (isBinary) return;
      let json: unknown;
      try {
        json = JSON.parse(data.toString());
      } catch {
        this.o.log.warn('server sent a frame that is not JSON; dropped');
        return;
      }
      const parsed = serverFrame.safeParse(json);
      if (!parsed.success) {
        this.o.log.warn({ issue: parsed.error.issues[0] }, 'server sent an invalid frame; dropped');
        return;
      }
      try {
        this.o.onFrame(parsed.data);
      } catch (err) {
        this.o.log.error({ err }, 'handling a server frame failed');
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      const hint = status === 401 ? ' (the daemon token is unknown, revoked or expired)' : status === 403 ? ' (this is not a daemon token)' : '';
      this.o.log.error({ status }, `server refused the connection: HTTP ${status}${hint}`);
      ws.terminate();
    });
    ws.on('error', (err) => {
      if (this.failures === 0 || this.failures % 10 === 0) this.o.log.warn({ err: err.message, url: this.o.url }, 'connection to server failed');
    });
    ws.on('close', () => {
      if (this.watchdog) clearTimeout(this.watchdog);
      if (this.ws === ws) this.ws = undefined;
      this.o.onClose();
      if (this.stopped) return;
      this.failures++;
      const delay = Math.max(100, backoffDelay(this.failures, Math.random(), { baseMs: 500, capMs: 15_000 }));
      this.retryTimer = setTimeout(() => this.connect(), delay);
    });
  }

  /** A server that neither pings nor sends anything for 2.5 heartbeats is gone. */
  private armWatchdog(): void {
    this.lastHeardAt = Date.now();
    if (this.watchdog) clearTimeout(this.watchdog);
    const ws = this.ws;
    if (!ws) return;
    this.watchdog = setTimeout(() => {
      this.o.log.warn('server silent past its heartbeat; reconnecting');
      ws.terminate();
    }, this.heartbeatMs * 2.5);
  }
}

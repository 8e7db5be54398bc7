/**
 * Signals between the parts of one server process, and between server
 * processes sharing one PostgreSQL (LISTEN/NOTIFY). A publish reaches local
 * subscribers at once; other processes receive it through NOTIFY, with a
 * small JSON payload (they fetch details from the database).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type pg from 'pg';
import { coerceError } from '../core/errors.js';
import type { Db } from '../store/db.js';

export type BusChannel =
  /** A task changed state or fields: `{ id, workspaceId, status }`. */
  | 'task'
  /** New events were stored for a task: `{ taskId, workspaceId, lastSeq }`. */
  | 'events'
  /** Work may be claimable: a task was queued, a slot freed. */
  | 'dispatch'
  /** Cancel a run on whichever server holds its runtime: `{ taskId, attempt, daemonId, reason }`. */
  | 'cancel'
  /** A runtime connected, disconnected or reported health: `{ id }`. */
  | 'daemon'
  /**
   * Local only, from the bus itself: its LISTEN connection was lost and is
   * back, so notifications from other servers may have been missed;
   * subscribers re-read what they show or act on.
   */
  | 'resync';

export type Origin = 'local' | 'remote';
export type BusHandler = (payload: Record<string, unknown>, origin: Origin) => void;

const PG_CHANNEL = 'switchyard';

export interface Bus {
  /**
   * With `coalesceKey`, other processes receive only the latest payload per
   * key within one turn of the event loop, packed into one NOTIFY (event
   * batches arrive thousands of times a second; each NOTIFY is a round trip).
   */
  publish(channel: BusChannel, payload: Record<string, unknown>, coalesceKey?: string): void;
  subscribe(channel: BusChannel, handler: BusHandler): () => void;
  /** False while the LISTEN connection (PostgreSQL) is down and being re-established. */
  listening(): boolean;
  close(): Promise<void>;
}

export async function createBus(db: Db, serverId: string, log: Logger): Promise<Bus> {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let listener: pg.Client | undefined;
  let closed = false;

  const deliver = (channel: string, payload: Record<string, unknown>, origin: Origin) => {
    for (const h of emitter.listeners(channel) as BusHandler[]) {
      try {
        h(payload, origin);
      } catch (err) {
        // A subscriber's bug must not stop delivery to the others.
        log.error({ err, channel }, 'bus subscriber failed');
      }
    }
  };

  const connect = async (): Promise<void> => {
    const client = await db.connectListener();
    if (!client) return; // PGlite: one process, local delivery is everything.
    client.on('notification', (msg) => {
      if (!msg.payload) return;
      try {
        const n = JSON.parse(msg.payload) as { o: string; m: { c: string; p: Record<string, unknown> }[] };
        if (n.o !== serverId) for (const m of n.m) deliver(m.c, m.p, 'remote');
      } catch (err) {
        log.warn({ err }, 'ignoring malformed notification');
      }
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost || closed) return;
      lost = true;
      log.warn({ err }, 'LISTEN connection lost; reconnecting');
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
      reconnect(0);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.query(`LISTEN ${PG_CHANNEL}`);
    } catch (err) {
      lost = true; // this client is given up here; the caller retries with a new one
      await client.end().catch(() => undefined);
      throw err;
    }
    if (closed) {
      lost = true;
      await client.end().catch(() => undefined);
      return;
    }
    listener = client;
  };
  // Retries until it is back (the database may be down for minutes), with
  // jittered backoff up to 30 s; then tells local subscribers to resync.
  const reconnect = (attempt: number) => {
    const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    setTimeout(() => {
      if (closed) return;
      connect().then(
        () => {
          log.info({ attempts: attempt + 1 }, 'LISTEN connection restored');
          deliver('resync', {}, 'local');
        },
        (err: unknown) => {
          if (attempt % 5 === 0) log.warn({ err: coerceError(err), attempt: attempt + 1 }, 'LISTEN reconnect failed; retrying');
          reconnect(attempt + 1);
        },
      );
    }, delay).unref();
  };
  await connect();

  const notify = (messages: { c: string; p: Record<string, unknown> }[]) => {
    // NOTIFY payloads must stay under 8000 bytes: split long lists.
    let chunk: { c: string; p: Record<string, unknown> }[] = [];
    let size = 0;
    const send = () => {
      // A coalesced flush can come due after close(): the pool may be gone by then.
      if (chunk.length === 0 || closed) return;
      const text = JSON.stringify({ o: serverId, m: chunk });
      chunk = [];
      size = 0;
      db.query('SELECT pg_notify($1, $2)', [PG_CHANNEL, text]).catch((err: unknown) => log.warn({ err }, 'NOTIFY failed'));
    };
    for (const m of messages) {
      const n = JSON.stringify(m).length;
      if (size + n > 7000) send();
      chunk.push(m);
      size += n;
    }
    send();
  };
  let coalesced = new Map<string, { c: string; p: Record<string, unknown> }>();
  let flushScheduled = false;

  return {
    publish(channel, payload, coalesceKey) {
      deliver(channel, payload, 'local');
      if (db.kind !== 'postgres') return;
      if (coalesceKey === undefined) return notify([{ c: channel, p: payload }]);
      coalesced.set(`${channel}:${coalesceKey}`, { c: channel, p: payload });
      if (flushScheduled) return;
      flushScheduled = true;
      setImmediate(() => {
        flushScheduled = false;
        const batch = [...coalesced.values()];
        coalesced = new Map();
        notify(batch);
      });
    },
    subscribe(channel, handler) {
      emitter.on(channel, handler);
      return () => emitter.off(channel, handler);
    },
    listening: () => db.kind !== 'postgres' || listener !== undefined,
    async close() {
      closed = true;
      emitter.removeAllListeners();
      await listener?.end().catch(() => undefined);
    },
  };
}

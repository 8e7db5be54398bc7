/**
 * Signals between the parts of one server process, and between server
 * processes sharing one PostgreSQL (LISTEN/NOTIFY). A publish reaches local
 * subscribers at once; other processes receive it through NOTIFY, with a
 * small JSON payload (they fetch details from the database).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type pg from 'pg';
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
  | 'daemon';

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
    client.on('error', (err) => {
      log.warn({ err }, 'LISTEN connection lost; reconnecting');
      listener = undefined;
      client.end().catch(() => undefined);
      if (!closed) setTimeout(() => void connect().catch((e: unknown) => log.error({ err: e }, 'LISTEN reconnect failed')), 1000);
    });
    await client.query(`LISTEN ${PG_CHANNEL}`);
    listener = client;
  };
  await connect();

  const notify = (messages: { c: string; p: Record<string, unknown> }[]) => {
    // NOTIFY payloads must stay under 8000 bytes: split long lists.
    let chunk: { c: string; p: Record<string, unknown> }[] = [];
    let size = 0;
    const send = () => {
      if (chunk.length === 0) return;
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
    async close() {
      closed = true;
      emitter.removeAllListeners();
      await listener?.end().catch(() => undefined);
    },
  };
}

/**
 * The dashboard's stream client (web/src/stream/client.ts) against a real
 * server, over Node's `ws`: it resumes after a restart from the last seq it
 * holds and ends with every line once, in order.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { createStreamClient, type OpenSocket, type StreamState } from '../../web/src/stream/client.js';
import { Transcript } from '../../web/src/stream/transcript.js';

const openWs: OpenSocket = (url, h) => {
  const ws = new WebSocket(url);
  ws.on('open', () => h.onOpen());
  ws.on('message', (d) => h.onMessage(d.toString()));
  ws.on('close', (code, reason) => h.onClose(code, reason.toString()));
  ws.on('error', () => undefined); // a refused connection is followed by 'close'
  return { send: (d) => ws.send(d), close: (c, r) => ws.close(c, r) };
};

describe('the dashboard stream client', () => {
  let s: TestServer;
  let d: TestDaemon;
  beforeAll(async () => {
    s = await startTestServer();
    d = await startTestDaemon(s.url, s.daemonToken);
  });
  afterAll(async () => {
    await d?.stop();
    await s?.close();
  });

  it('reconnects after a server restart and resumes without a gap or a repeat', async () => {
    const ws = await s.workspace('stream-client');
    const task = await ws.client().tasks.create({ assignedAgent: 'fake', prompt: 'work --lines 150 --rate 50' });
    const states: StreamState[] = [];
    const client = createStreamClient({ url: `${s.url.replace(/^http/, 'ws')}/api/v1/stream`, token: ws.tokens.viewer, openSocket: openWs, backoff: { baseMs: 100, maxMs: 1000 } });
    client.onStatus((st) => states.push(st.state));
    const transcript = new Transcript();
    const statuses: string[] = [];
    const resumed: number[] = [];
    client.onResume(() => resumed.push(transcript.lastSeq));
    client.watchTask(task.id, { afterSeq: () => transcript.lastSeq, onEvents: (items) => transcript.add(items), onTask: (t) => statuses.push(t.status) });
    try {
      await until(() => transcript.size >= 20, 'the first lines');
      await s.restart();
      await until(() => statuses.includes('completed') && transcript.size >= 150, 'the rest after the restart', 20_000);
      expect(states).toContain('reconnecting');
      expect(resumed.length).toBe(1);
      expect(resumed[0]).toBeGreaterThanOrEqual(20);
      expect(transcript.events().map((e) => e.text)).toEqual(Array.from({ length: 150 }, (_, i) => `line ${i + 1}`));
      // Resubscribing with afterSeq means the server itself sent nothing twice.
      expect(transcript.duplicates).toBe(0);
    } finally {
      client.close();
    }
    expect(client.status().state).toBe('closed');
  }, 40_000);

  it('stops, without retrying, when the token is refused', async () => {
    const client = createStreamClient({ url: `${s.url.replace(/^http/, 'ws')}/api/v1/stream`, token: 'not-a-token', openSocket: openWs });
    await until(() => client.status().state === 'unauthorized', 'the refusal');
    client.close();
  });
});

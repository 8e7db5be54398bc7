/**
 * Fuzzing the two WebSockets: the dashboard stream (/api/v1/stream) and the
 * runtimes' socket (/api/v1/daemon/connect). Generated frames — binary,
 * invalid UTF-8, JSON of the wrong shape, frames over the size limit, deep
 * nesting, well-formed frames with wrong ids or another workspace's task —
 * are answered with error frames or a clean close (4xxx, 1002, 1007, 1009),
 * never a crash, an abrupt drop or a logged error; workspace B's dashboard
 * and runtime, connected throughout, are not disturbed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, serverFrame } from '../../../src/core/protocol.js';
import { connectRawDaemon, type RawDaemon } from '../../helpers/rawDaemon.js';
import { connectStream, type StreamClient } from '../../helpers/stream.js';
import { call } from '../http.js';
import { deepText, fuzzParams, jsonText, nastyString } from './fuzz.js';
import { expectStillServing, startWorld, type World } from './world.js';

const MAX_MESSAGE = 64 * 1024;

let w: World;
/** B's runtime, running B's task, and B's dashboard, following it: the bystanders. */
let bDaemon: RawDaemon;
let bDashboard: StreamClient;
let bTask: string;

beforeAll(async () => {
  // A small frame cap keeps frames over it (and over the library's 4× cut-off) cheap to send. The
  // heartbeat is slow because client and server share this process: a busy event loop here must
  // not look like a dead runtime (the server would rightly terminate it, 1006).
  w = await startWorld({ streaming: { max_message_size: '64KB', heartbeat_interval: '5s' }, agents: [{ name: 'b-agent', binary: '/bin/true' }] });
  bDaemon = await connectRawDaemon(w.s.url, w.b.tokens.daemon, { agents: ['b-agent'] });
  bDaemon.hello();
  await bDaemon.waitFrame((f) => f.type === 'welcome', 'welcome');
  const created = await call(w.s.url, 'POST', '/api/v1/tasks', { token: w.b.tokens.member, body: { assignedAgent: 'b-agent', prompt: 'B runs this' } });
  bTask = (created.json as { id: string }).id;
  await bDaemon.waitFrame((f) => f.type === 'assign' && f.taskId === bTask, 'assign');
  bDaemon.send({ type: 'accept', taskId: bTask, attempt: 1 });
  bDaemon.send({ type: 'started', taskId: bTask, attempt: 1, pid: 4242, agentVersion: '1', model: null, startedAt: new Date().toISOString() });
  bDashboard = await connectStream(w.s.url, w.b.tokens.viewer);
  bDashboard.subscribeTask(bTask);
  await bDashboard.waitFor(() => bDashboard.tasks.some((t) => t.id === bTask && t.status === 'executing'), 'B executing');
});
afterAll(async () => {
  await bDashboard?.close();
  await bDaemon?.close();
  await w?.close();
});

/** B's runtime and dashboard are still connected and B's task still runs on B's runtime. */
async function expectBystandersUndisturbed(): Promise<void> {
  expect(bDaemon.closed(), 'B\'s runtime was disconnected').toBe(false);
  expect(bDaemon.frames.filter((f) => f.type === 'cancel' || f.type === 'error'), 'frames B\'s runtime got').toEqual([]);
  const t = await call(w.s.url, 'GET', `/api/v1/tasks/${bTask}`, { token: w.b.tokens.viewer });
  expect(t.json, 'B\'s task').toMatchObject({ status: 'executing', daemonId: bDaemon.id });
  const before = bDashboard.frames.length;
  bDashboard.send({ type: 'ping' });
  await bDashboard.waitFor(() => bDashboard.frames.slice(before).some((f) => f.type === 'pong'), 'B dashboard pong');
}

type Outgoing = { kind: 'text'; text: string } | { kind: 'binary'; bytes: Uint8Array } | { kind: 'badUtf8'; bytes: Buffer };

const OK_CLOSE = (code: number) => code === 1000 || code === 1002 || code === 1007 || code === 1009 || (code >= 4000 && code < 5000);

interface Outcome {
  frames: Record<string, unknown>[];
  closeCode: number | undefined;
}

/** Opens a socket, sends the frames (stopping if the server closes it), and reports what came back. */
async function session(path: string, headers: Record<string, string>, first: unknown[], frames: Outgoing[], probe: unknown, answered: (f: Record<string, unknown>) => boolean): Promise<Outcome> {
  const ws = new WebSocket(`${w.s.url.replace(/^http/, 'ws')}${path}`, { headers });
  const got: Record<string, unknown>[] = [];
  let closeCode: number | undefined;
  const closed = new Promise<void>((r) => ws.on('close', (code) => ((closeCode = code), r())));
  ws.on('message', (d, isBinary) => {
    // Checked by the caller: an exception in this listener would escape the test.
    let f: Record<string, unknown>;
    try {
      f = isBinary ? { type: 'binary frame from the server' } : (JSON.parse(d.toString()) as Record<string, unknown>);
    } catch {
      f = { type: 'text frame that is not JSON', text: d.toString().slice(0, 200) };
    }
    got.push(f);
  });
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const open = () => ws.readyState === WebSocket.OPEN;
  for (const f of first) if (open()) ws.send(JSON.stringify(f));
  for (const f of frames) {
    if (!open()) break;
    if (f.kind === 'text') ws.send(f.text);
    else if (f.kind === 'binary') ws.send(f.bytes, { binary: true });
    else ws.send(f.bytes, { binary: false });
  }
  // The probe answers once everything before it is handled (frames of a socket are handled in order).
  if (open()) ws.send(JSON.stringify(probe));
  await Promise.race([closed, until(() => got.some(answered), 5_000)]);
  // Then until nothing more arrives for a moment, so late answers are checked with this case.
  for (let n = -1; n !== got.length && closeCode === undefined; ) {
    n = got.length;
    await new Promise((r) => setTimeout(r, 30));
  }
  if (open()) {
    ws.close(1000);
    await closed;
  }
  return { frames: got, closeCode: closeCode === 1000 || closeCode === 1005 ? undefined : closeCode };
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

/** Frames as a socket carries them: JSON text, binary, text frames that are not UTF-8, and frames over the caps. */
function outgoing(json: fc.Arbitrary<string>): fc.Arbitrary<Outgoing> {
  return fc.oneof(
    { weight: 8, arbitrary: json.map((text): Outgoing => ({ kind: 'text', text })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): Outgoing => ({ kind: 'binary', bytes })) },
    { weight: 1, arbitrary: fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf]).map((b): Outgoing => ({ kind: 'badUtf8', bytes: Buffer.concat([Buffer.from('{"type":"'), Buffer.from(b), Buffer.from('"}')]) })) },
    { weight: 1, arbitrary: fc.constantFrom(MAX_MESSAGE + 1, MAX_MESSAGE * 4 + 1).map((n): Outgoing => ({ kind: 'text', text: JSON.stringify({ type: 'ping', pad: 'x'.repeat(n) }) })) },
    { weight: 1, arbitrary: deepText.filter((t) => t.length < MAX_MESSAGE).map((text): Outgoing => ({ kind: 'text', text })) },
  );
}

/** An object with a `type` (right or wrong) and fields of the frame schemas with generated values. */
function shaped(types: string[], keys: string[], real: () => string[]): fc.Arbitrary<string> {
  const value = fc.oneof({ weight: 3, arbitrary: jsonText() }, { weight: 2, arbitrary: fc.constantFrom(...real()).map((s) => JSON.stringify(s)) }, { weight: 1, arbitrary: fc.uuid().map((u) => JSON.stringify(u)) });
  return fc
    .tuple(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...types) }, { weight: 1, arbitrary: nastyString }), fc.array(fc.tuple(fc.constantFrom(...keys, '__proto__', 'constructor'), value), { maxLength: 6 }))
    .map(([type, kv]) => `{"type":${JSON.stringify(type)}${kv.map(([k, v]) => `,${JSON.stringify(k)}:${v}`).join('')}}`);
}

describe('dashboard stream fuzz', () => {
  it('answers generated frames with error frames or a clean close, and never shows B to A', async () => {
    const real = () => [bTask, w.objB.task, w.objA.task, 'fuzz-a', 'fuzz-b', w.b.tokens.viewer, w.a.tokens.viewer, w.a.tokens.daemon];
    const frame = shaped(['auth', 'subscribe', 'unsubscribe', 'ping'], ['token', 'workspaceId', 'taskId', 'afterSeq'], real);
    const run = fc.record({
      auth: fc.constantFrom('aViewer', 'aAdmin', 'wrong', 'daemon', 'none'),
      frames: fc.array(outgoing(fc.oneof({ weight: 4, arbitrary: frame }, { weight: 1, arbitrary: jsonText() })), { minLength: 1, maxLength: 5 }),
      victim: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(run, async (r) => {
        const token = { aViewer: w.a.tokens.viewer, aAdmin: w.a.tokens.admin, wrong: 'sy_wrong', daemon: w.a.tokens.daemon, none: undefined }[r.auth];
        const first: unknown[] = token ? [{ type: 'auth', token }] : [];
        // Well-formed subscriptions to B's task and workspace: refused as not found.
        if (r.victim) first.push({ type: 'subscribe', taskId: bTask }, { type: 'subscribe', workspaceId: 'fuzz-b' });
        const out = await session('/api/v1/stream', {}, first, r.frames, { type: 'ping' }, (f) => f.type === 'pong');
        const what = JSON.stringify({ ...r, frames: r.frames.map((f) => (f.kind === 'text' ? f.text.slice(0, 200) : f.kind)) }).slice(0, 1500);
        if (out.closeCode !== undefined) expect(OK_CLOSE(out.closeCode), `close code ${out.closeCode}: ${what}`).toBe(true);
        for (const f of out.frames) {
          expect(['ready', 'error', 'pong', 'subscribed', 'task', 'events'], `${JSON.stringify(f).slice(0, 300)}: ${what}`).toContain(f.type);
          if (f.type === 'error') expect(f, what).toMatchObject({ code: expect.any(String), message: expect.any(String) });
          expect(f.code, `a server-side failure: ${what}`).not.toBe('stream_failed');
          // Nothing of B reaches a client with an A token (or none).
          const text = JSON.stringify(f);
          if (f.type !== 'error') for (const id of [bTask, w.objB.task, 'fuzz-b']) expect(text.includes(id), `B's ${id} in ${text.slice(0, 300)}: ${what}`).toBe(false);
        }
      }),
      fuzzParams(150),
    );
    await expectBystandersUndisturbed();
    await expectStillServing(w);
  });
});

describe('daemon socket fuzz', () => {
  it('answers generated frames with error frames or a clean close, and never touches B\'s runtime or runs', async () => {
    const real = () => [bTask, w.objB.task, w.objA.task, bDaemon.id, '2024-01-01T00:00:00Z'];
    const types = ['hello', 'batch', 'health', 'agents', 'accept', 'reject', 'started', 'events', 'finished'];
    const keys = ['protocol', 'daemonId', 'name', 'hostname', 'version', 'capacity', 'agents', 'running', 'pending', 'frames', 'cpu', 'memUsedMb', 'agentsRssMb', 'active', 'throttled', 'throttleReason', 'taskId', 'attempt', 'reason', 'pid', 'agentVersion', 'model', 'startedAt', 'events', 'outcome', 'lastSeq', 'exitCode', 'signal', 'failureClass', 'stderrTail', 'usage', 'costUsd', 'sessionId', 'resultText', 'question', 'diff', 'endedAt', 'lastEvents'];
    const attempt = fc.constantFrom(1, 2, 2 ** 31, 2 ** 53);
    const taskId = fc.oneof(fc.constantFrom(bTask, w.objB.task, w.objA.task), fc.uuid().map(String));
    const odd = fc.oneof(nastyString, fc.constant('a\u0000b'), deepText.filter((t) => t.length < 20_000).map((t) => JSON.parse(t) as unknown));
    const wireEvent = fc.record({ seq: fc.constantFrom(1, 2, 2 ** 31, 2 ** 40), at: fc.constantFrom('2024-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59+14:00'), stream: fc.constant('stdout'), kind: fc.constant('text'), text: fc.option(odd, { nil: undefined }), raw: fc.oneof(fc.constant('raw'), nastyString), data: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), odd, { maxKeys: 2 }), { nil: undefined }) });
    // Well-formed frames (as the schemas say) about runs this runtime does not own: B's, A's queued one, ids of nothing.
    const validLooking = fc.oneof(
      fc.record({ type: fc.constantFrom('accept', 'reject'), taskId, attempt, reason: fc.constant('x') }),
      fc.record({ type: fc.constant('started'), taskId, attempt, pid: fc.constant(1), agentVersion: fc.constant(null), model: fc.constant(null), startedAt: fc.constant('2024-01-01T00:00:00Z') }),
      fc.record({ type: fc.constant('events'), taskId, attempt, events: fc.array(wireEvent, { minLength: 1, maxLength: 3 }) }),
      fc.record({ type: fc.constant('finished'), taskId, attempt, outcome: fc.constantFrom('completed', 'failed', 'blocked', 'cancelled'), lastSeq: fc.constantFrom(0, 2 ** 31), exitCode: fc.constant(0), signal: fc.constant(null), failureClass: fc.constant(null), reason: fc.constant(null), stderrTail: fc.constant(null), usage: fc.constant(null), costUsd: fc.constant(null), sessionId: fc.constant(null), agentVersion: fc.constant(null), model: fc.constant(null), resultText: fc.constant(null), question: fc.constant(null), endedAt: fc.constant('2024-01-01T00:00:00Z'), diff: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), odd, { maxKeys: 2 }), { nil: undefined }), lastEvents: fc.option(fc.array(odd, { maxLength: 2 }), { nil: undefined }) }),
      fc.record({ type: fc.constant('health'), cpu: fc.constantFrom(0, 1e308, 2 ** 31), memUsedMb: fc.constantFrom(0, 1e308), agentsRssMb: fc.constant(0), active: fc.constantFrom(0, 2 ** 31, 2 ** 53), throttled: fc.boolean(), throttleReason: fc.oneof(fc.constant(null), nastyString.filter((s) => s.length <= 500)) }),
      fc.record({ type: fc.constant('agents'), agents: fc.array(fc.record({ name: nastyString.filter((s) => s.length >= 1 && s.length <= 100), binary: fc.constant(null), version: fc.constant(null), status: fc.constant('ok'), reason: fc.constant(null) }), { maxLength: 2 }) }),
      // Another workspace's runtime id, a second hello, protocol versions this server does not speak.
      fc.record({ type: fc.constant('hello'), protocol: fc.constantFrom(PROTOCOL_VERSION, PROTOCOL_VERSION + 1), daemonId: fc.oneof(fc.constant(bDaemon.id), fc.uuid().map(String)), name: nastyString.filter((s) => s.length >= 1 && s.length <= 200), hostname: fc.constant('h'), version: fc.constant('v'), capacity: fc.constantFrom(1, 1000), agents: fc.constant([]), running: fc.constant([]), pending: fc.constant([]) }),
    );
    const run = fc.record({
      // Each case is its own runtime: reusing one id would make a case's hello take over the previous case's connection.
      own: fc.uuid().map(String),
      hello: fc.boolean(),
      frames: fc.array(outgoing(fc.oneof({ weight: 3, arbitrary: validLooking.map((f) => JSON.stringify(f)) }, { weight: 3, arbitrary: shaped(types, keys, real) }, { weight: 1, arbitrary: jsonText() })), { minLength: 1, maxLength: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(run, async (r) => {
        const hello = { type: 'hello', protocol: PROTOCOL_VERSION, daemonId: r.own, name: 'fuzz', hostname: 'fuzz-host', version: 'test', capacity: 2, agents: [], running: [], pending: [] };
        // The probe, a hello, is handled in order after every frame before it: a welcome or "hello was already received".
        const out = await session('/api/v1/daemon/connect', { authorization: `Bearer ${w.a.tokens.daemon}` }, r.hello ? [hello] : [], r.frames, hello, (f) => f.type === 'welcome' || f.code === 'protocol');
        const what = JSON.stringify({ hello: r.hello, frames: r.frames.map((f) => (f.kind === 'text' ? f.text.slice(0, 300) : f.kind)) }).slice(0, 2000);
        if (out.closeCode !== undefined) expect(OK_CLOSE(out.closeCode), `close code ${out.closeCode}: ${what}; frames ${JSON.stringify(out.frames).slice(0, 500)}`).toBe(true);
        for (const f of out.frames) {
          expect(serverFrame.safeParse(f).success, `not a server frame ${JSON.stringify(f).slice(0, 300)}: ${what}`).toBe(true);
          expect(f.code, `a server-side failure ${JSON.stringify(f)}: ${what}`).not.toBe('server_error');
          // B's run is never assigned to A's runtime, nor A's output for it stored (acknowledged); a cancel or discard of an id A sent is only an echo telling it to stop.
          if (f.type === 'assign' || f.type === 'ack') expect(f.taskId, `${JSON.stringify(f).slice(0, 300)}: ${what}`).not.toBe(bTask);
        }
        expect(w.errors.lines, `error lines in the server log after ${what}`).toEqual([]);
        expect(bDaemon.closed(), `B's runtime was disconnected by ${what}`).toBe(false);
      }),
      fuzzParams(200),
    );
    await expectBystandersUndisturbed();
    await expectStillServing(w);
    // A runtime can still connect and say hello.
    const d = await connectRawDaemon(w.s.url, w.a.tokens.daemon);
    d.hello();
    await d.waitFrame((f) => f.type === 'welcome', 'welcome after the fuzz');
    await d.close();
  });
});

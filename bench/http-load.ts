/**
 * A load generator in its own process (so it does not share the server's
 * event loop): `n` POST /tasks through the typed client, `concurrency` at a
 * time, after 20 warm-up requests. Prints one JSON line: { n, ms }.
 *
 * Usage: node --import tsx bench/http-load.ts <url> <token> <workspace> <n> <concurrency> [agent]
 */
import { SwitchyardClient } from '../src/client/index.js';

const [url, token, workspace, nArg, cArg, agentArg] = process.argv.slice(2);
const n = Number(nArg);
const concurrency = Number(cArg);
const agent = agentArg ?? 'noop';
const client = new SwitchyardClient({ url: url!, token: token!, workspace: workspace! });

for (let i = 0; i < 20; i++) await client.tasks.create({ assignedAgent: agent, prompt: `warm-up ${i}` });
let next = 0;
const latencies: number[] = [];
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      await client.tasks.create({ assignedAgent: agent, prompt: `load ${i}` });
      latencies.push(performance.now() - s);
    }
  }),
);
const ms = performance.now() - t0;
latencies.sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ n, ms, p50: latencies[Math.floor(latencies.length / 2)], p99: latencies[Math.floor(latencies.length * 0.99)] })}\n`);

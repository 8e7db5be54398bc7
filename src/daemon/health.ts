/**
 * The runtime's load, measured every `health_check_interval`: CPU busy
 * fraction over the interval (all cores), memory held by the daemon and its
 * agents' process groups (RSS), and how many runs are active.
 */
import { execFile } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';

export interface HealthSample {
  cpu: number;
  memUsedMb: number;
  memTotalMb: number;
  agentsRssMb: number;
  /** The daemon's own RSS plus its agents'. */
  runtimeMb: number;
}

interface CpuTimes {
  idle: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** RSS (KiB) of every process, by process group, from one `ps` call. */
export function groupRss(): Promise<Map<number, number>> {
  return new Promise((resolve) => {
    execFile('ps', ['-A', '-o', 'pgid=,rss='], { timeout: 5_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout) => {
      const byGroup = new Map<number, number>();
      if (err) return resolve(byGroup);
      for (const line of stdout.split('\n')) {
        const [pgid, rss] = line.trim().split(/\s+/).map(Number);
        if (!pgid || rss === undefined || Number.isNaN(rss)) continue;
        byGroup.set(pgid, (byGroup.get(pgid) ?? 0) + rss);
      }
      resolve(byGroup);
    });
  });
}

export function createHealthSampler() {
  let last = cpuTimes();
  return async (groups: Iterable<number>): Promise<HealthSample> => {
    const now = cpuTimes();
    const dTotal = now.total - last.total;
    const cpu = dTotal > 0 ? Math.max(0, Math.min(1, 1 - (now.idle - last.idle) / dTotal)) : 0;
    last = now;
    const rss = await groupRss();
    let agentsKb = 0;
    for (const g of groups) agentsKb += rss.get(g) ?? 0;
    const agentsRssMb = agentsKb / 1024;
    const own = process.memoryUsage().rss / (1024 * 1024);
    return {
      cpu: Math.round(cpu * 1000) / 1000,
      memUsedMb: Math.round((totalmem() - freemem()) / (1024 * 1024)),
      memTotalMb: Math.round(totalmem() / (1024 * 1024)),
      agentsRssMb: Math.round(agentsRssMb * 10) / 10,
      runtimeMb: Math.round((own + agentsRssMb) * 10) / 10,
    };
  };
}

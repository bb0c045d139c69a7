// The overload benchmark: `pictograph serve` in its own process, autocannon POSTing a 6 MB, 12 MP camera JPEG to
// /v1/classify at concurrency 8 and then 64 (20 s each): photos classified per second (2xx), 429 and 5xx counts,
// latency of the admitted requests, and the server's peak RSS (VmHWM) against its idle RSS.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { runsBuilt, startServe } from './server.js';

export interface OverloadBenchOptions {
  /** Seconds per level (default 20, or PICTOGRAPH_BENCH_SECONDS). */
  seconds?: number;
  concurrency?: number[];
  /** The camera JPEG (default ../shared/data/photos/images/forensics_christmas-table.jpg). */
  image?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

/** VmRSS and VmHWM (peak) of a process, MiB, from /proc. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function level(base: string, body: Buffer, connections: number, seconds: number) {
  const admitted: number[] = [];
  const statuses: Record<string, number> = {};
  const result = await new Promise<autocannon.Result>((res, rej) => {
    const instance = autocannon(
      { url: `${base}/v1/classify`, method: 'POST', headers: { 'content-type': 'image/jpeg' }, body, connections, duration: seconds, timeout: 30 },
      (err, r) => (err ? rej(err) : res(r)),
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode === 200) admitted.push(responseTime);
    });
  });
  const ok = statuses['200'] ?? 0;
  const fivexx = Object.entries(statuses).filter(([s]) => s.startsWith('5')).reduce((n, [, c]) => n + c, 0);
  return {
    concurrency: connections,
    classified_per_s: ok / seconds,
    ok,
    status_429: statuses['429'] ?? 0,
    status_5xx: fivexx,
    other_statuses: JSON.stringify(Object.fromEntries(Object.entries(statuses).filter(([s]) => !['200', '429'].includes(s)))),
    connection_errors: result.errors,
    timeouts: result.timeouts,
    admitted_p50_ms: percentile(admitted, 50),
    admitted_p99_ms: percentile(admitted, 99),
    admitted_max_ms: admitted.length ? Math.max(...admitted) : NaN,
  };
}

export async function benchOverload(opts: OverloadBenchOptions = {}): Promise<Record<string, unknown>> {
  const seconds = opts.seconds ?? Number(process.env.PICTOGRAPH_BENCH_SECONDS ?? 20);
  const levels = opts.concurrency ?? [8, 64];
  const imagePath = opts.image ?? join(repoRoot, '..', 'shared', 'data', 'photos', 'images', 'forensics_christmas-table.jpg');
  const image = readFileSync(imagePath);
  const home = mkdtempSync(join(tmpdir(), 'pictograph-bench-overload-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PICTOGRAPH_HOME: home,
    DATABASE_URL: '',
    PICTOGRAPH_MODEL_MIRROR: process.env.PICTOGRAPH_MODEL_MIRROR ?? join(repoRoot, '..', 'shared', 'models'),
  };
  const report: Record<string, unknown> = { cores: availableParallelism(), image_bytes: image.length, seconds_per_level: seconds, load_average_at_start: loadavg()[0] };
  // Memory is the server's as installed: the built CLI when there is one (npm ci builds it).
  report.server = runsBuilt(true) ? 'built CLI (dist/)' : 'sources through tsx';
  // PICTOGRAPH_BENCH_SERVE_ARGS: extra `serve` options to compare settings (e.g. "--no-faces --max-body-mb 12").
  const serveArgs = (process.env.PICTOGRAPH_BENCH_SERVE_ARGS ?? '').split(/\s+/).filter(Boolean);
  report.serve_args = serveArgs.join(' ');
  const { proc, base } = await startServe(env, serveArgs, { preferBuilt: true });
  try {
    // warm-up: a few sequential requests
    for (let i = 0; i < 3; i++) await fetch(`${base}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: image });
    report.idle_rss_mb = memory(proc.pid!).rss;
    let sampled = 0;
    const sampler = setInterval(() => (sampled = Math.max(sampled, memory(proc.pid!).rss)), 100);
    const rows = [];
    try {
      for (const c of levels) {
        const row = { ...(await level(base, image, c, seconds)), rss_peak_mb: memory(proc.pid!).peak };
        rows.push(row);
        for (const [k, v] of Object.entries(row)) if (k !== 'concurrency') report[`c${c}_${k}`] = v;
      }
    } finally {
      clearInterval(sampler);
    }
    const low = rows[0]!;
    const high = rows[rows.length - 1]!;
    report.levels = rows;
    report.peak_rss_mb = memory(proc.pid!).peak;
    report.peak_rss_sampled_mb = sampled;
    report.throughput_high_vs_low = high.classified_per_s / low.classified_per_s;
    report.targets = 'peak_rss_mb <= 300, throughput_high_vs_low >= 0.9, zero 5xx';
    report.targets_met = report.peak_rss_mb as number <= 300 && (report.throughput_high_vs_low as number) >= 0.9 && rows.every((r) => r.status_5xx === 0);
    report.load_average_at_end = loadavg()[0];
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    rmSync(home, { recursive: true, force: true });
  }
  return report;
}

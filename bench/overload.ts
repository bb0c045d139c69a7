// The overload benchmark: `pictograph serve` in its own process, clients POSTing a 6 MB, 12 MP camera JPEG to
// /v1/classify at concurrency 8 and then 64 (20 s each): photos classified per second (2xx), 429 and 5xx counts,
// latency of the admitted requests, and the server's peak RSS (VmHWM, reset between levels) against its idle RSS.
// Two kinds of client, each retrying at once when refused: `expect` sends `Expect: 100-continue` and its body only
// on the go-ahead (as curl does for bodies over 1 MB), so a refusal costs no upload; `blind` (autocannon) sends
// the body with the headers, so the server must receive every refused body.
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Client kinds, in order (default both; PICTOGRAPH_BENCH_OVERLOAD_CLIENTS="expect,blind"). */
  clients?: ClientKind[];
}

export type ClientKind = 'expect' | 'blind';

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

/** Resets the process's peak RSS (VmHWM) to its current RSS. */
function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // (not permitted here: peaks stay cumulative)
  }
}

interface Tally {
  statuses: Record<string, number>;
  admitted: number[];
  errors: number;
  timeouts: number;
}

/** `connections` clients, each POSTing with `Expect: 100-continue` in a loop for `seconds`. */
async function expectContinueLoad(base: string, body: Buffer, connections: number, seconds: number): Promise<Tally> {
  const url = new URL(`${base}/v1/classify`);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const tally: Tally = { statuses: {}, admitted: [], errors: 0, timeouts: 0 };
  const until = performance.now() + seconds * 1000;
  const once = () =>
    new Promise<void>((done) => {
      const t0 = performance.now();
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        timeout: 30_000,
        headers: { 'content-type': 'image/jpeg', 'content-length': body.length, expect: '100-continue' },
      });
      req.on('continue', () => req.end(body));
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
          if (status === 200) tally.admitted.push(performance.now() - t0);
          if (!req.writableEnded) req.destroy(); // refused before the go-ahead: the body is never sent
          done();
        });
      });
      req.on('timeout', () => {
        tally.timeouts++;
        req.destroy();
      });
      req.on('error', () => {
        if (!req.writableEnded || !req.destroyed) tally.errors++;
        done();
      });
      req.flushHeaders();
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) await once();
    }),
  );
  agent.destroy();
  return tally;
}

/** autocannon: `connections` clients sending headers and body together, for `seconds`. */
async function blindLoad(base: string, body: Buffer, connections: number, seconds: number): Promise<Tally> {
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
  return { statuses, admitted, errors: result.errors, timeouts: result.timeouts };
}

async function level(kind: ClientKind, base: string, body: Buffer, connections: number, seconds: number) {
  const { statuses, admitted, errors, timeouts } = await (kind === 'expect' ? expectContinueLoad : blindLoad)(base, body, connections, seconds);
  const ok = statuses['200'] ?? 0;
  const fivexx = Object.entries(statuses).filter(([s]) => s.startsWith('5')).reduce((n, [, c]) => n + c, 0);
  return {
    concurrency: connections,
    classified_per_s: ok / seconds,
    ok,
    status_429: statuses['429'] ?? 0,
    status_5xx: fivexx,
    other_statuses: JSON.stringify(Object.fromEntries(Object.entries(statuses).filter(([s]) => !['200', '429'].includes(s)))),
    connection_errors: errors,
    timeouts,
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
    const kinds = opts.clients ?? ((process.env.PICTOGRAPH_BENCH_OVERLOAD_CLIENTS?.split(',') ?? ['expect', 'blind']) as ClientKind[]);
    const rows = [];
    let met = true;
    try {
      for (const kind of kinds) {
        const ofKind = [];
        for (const c of levels) {
          resetPeak(proc.pid!);
          const row = { client: kind, ...(await level(kind, base, image, c, seconds)), rss_peak_mb: memory(proc.pid!).peak };
          ofKind.push(row);
          for (const [k, v] of Object.entries(row)) if (k !== 'concurrency' && k !== 'client') report[`${kind}_c${c}_${k}`] = v;
        }
        const low = ofKind[0]!;
        const high = ofKind[ofKind.length - 1]!;
        const peak = Math.max(...ofKind.map((r) => r.rss_peak_mb));
        const ratio = high.classified_per_s / low.classified_per_s;
        report[`${kind}_peak_rss_mb`] = peak;
        report[`${kind}_throughput_high_vs_low`] = ratio;
        const kindMet = peak <= 300 && ratio >= 0.9 && ofKind.every((r) => r.status_5xx === 0);
        report[`${kind}_targets_met`] = kindMet;
        met &&= kindMet;
        rows.push(...ofKind);
      }
    } finally {
      clearInterval(sampler);
    }
    report.levels = rows;
    report.peak_rss_sampled_mb = sampled;
    report.targets = 'per client kind: peak_rss_mb <= 300, throughput_high_vs_low >= 0.9, zero 5xx';
    report.targets_met = met;
    report.load_average_at_end = loadavg()[0];
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    rmSync(home, { recursive: true, force: true });
  }
  return report;
}

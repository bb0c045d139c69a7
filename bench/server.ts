// The HTTP API benchmark: `pictograph serve` in its own process on 127.0.0.1, autocannon POSTing a real JPEG
// to /v1/classify at concurrency 1, 8 and 32 (bounded duration each), against the engine's own throughput
// (decode + micro-batched engine.run on the same image, every core) measured in the same run.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MicroBatcher } from '../src/vision/batcher.js';
import { decodePhoto } from '../src/vision/decode.js';
import { Engine } from '../src/vision/engine.js';
import { expandInputs } from '../src/vision/pipeline.js';

export interface ServerBenchOptions {
  folder: string;
  /** Seconds per load level (default 10). */
  seconds?: number;
  concurrency?: number[];
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

/** A free TCP port on 127.0.0.1 (asked of the OS, then released for the server to take). */
async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Whether a benchmark's server runs the built CLI (as installed: `npm ci` builds it) rather than the sources through
 * tsx, whose compiler costs ~60 MB of memory: PICTOGRAPH_BENCH_DIST=1 / 0, else `preferBuilt` when dist/ exists.
 */
export function runsBuilt(preferBuilt = false): boolean {
  const choice = process.env.PICTOGRAPH_BENCH_DIST;
  if (choice === '1' || choice === '0') return choice === '1';
  return preferBuilt && existsSync(join(repoRoot, 'dist', 'cli', 'main.js'));
}

export async function startServe(env: NodeJS.ProcessEnv, extraArgs: string[] = [], opts: { preferBuilt?: boolean } = {}): Promise<{ proc: ChildProcess; base: string }> {
  // PICTOGRAPH_BENCH_PORT pins the port (a shared machine hands out port ranges); else any free one.
  const port = process.env.PICTOGRAPH_BENCH_PORT ? Number(process.env.PICTOGRAPH_BENCH_PORT) : await freePort();
  const args = ['serve', '--port', String(port), '--host', '127.0.0.1', '--no-web', '--log-level', 'warn', ...extraArgs];
  // The built CLI runs as an installed `pictograph` does: the executable itself, so its runtime settings (the
  // memory settings for `serve`) apply.
  const proc = runsBuilt(opts.preferBuilt)
    ? spawn(join(repoRoot, 'bin', 'pictograph'), args, { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const base = `http://127.0.0.1:${port}`;
  for (;;) {
    const res = await fetch(`${base}/readyz`).catch(() => null);
    if (res?.status === 200) return { proc, base };
    if (proc.exitCode !== null) throw new Error(`serve exited (${proc.exitCode}): ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; null where unavailable. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return null;
  }
}

/**
 * Decode + micro-batched inference on one image, `inFlight` at once, for `seconds`: images per wall second
 * and per CPU second of this process (which then runs nothing else).
 */
async function engineThroughput(
  image: Buffer,
  env: NodeJS.ProcessEnv,
  seconds: number,
  inFlight: number,
): Promise<{ rate: number; perCpuSecond: number }> {
  const engine = await Engine.load({ env });
  const batcher = new MicroBatcher(engine, { maxBatch: 16, maxWaitMs: 3, maxQueue: 1024 });
  try {
    for (let i = 0; i < 8; i++) await batcher.submit((await decodePhoto(image, engine.model.spec)).tensor);
    let done = 0;
    const until = performance.now() + seconds * 1000;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const loop = async () => {
      while (performance.now() < until) {
        const decoded = await decodePhoto(image, engine.model.spec);
        await batcher.submit(decoded.tensor);
        done++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, loop));
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { rate: done / wall, perCpuSecond: done / ((cpu.user + cpu.system) / 1e6) };
  } finally {
    await batcher.drain();
    await engine.close();
  }
}

function cannon(base: string, body: Buffer, connections: number, seconds: number): Promise<autocannon.Result> {
  return new Promise((res, rej) => {
    autocannon(
      {
        url: `${base}/v1/classify`,
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body,
        connections,
        duration: seconds,
        timeout: 30,
      },
      (err, result) => (err ? rej(err) : res(result)),
    );
  });
}

export async function benchServer(opts: ServerBenchOptions): Promise<Record<string, unknown>> {
  const seconds = opts.seconds ?? 10;
  const levels = opts.concurrency ?? [1, 8, 32];
  const files = await expandInputs([opts.folder]);
  if (files.length === 0) throw new Error(`no images in ${opts.folder}`);
  const file = files[0]!;
  const image = readFileSync(file);
  const home = mkdtempSync(join(tmpdir(), 'pictograph-bench-server-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PICTOGRAPH_HOME: home,
    DATABASE_URL: '',
    PICTOGRAPH_MODEL_MIRROR: process.env.PICTOGRAPH_MODEL_MIRROR ?? join(repoRoot, '..', 'shared', 'models'),
  };
  const report: Record<string, unknown> = { cores: availableParallelism(), image_bytes: image.length, seconds_per_level: seconds };
  let server: ChildProcess | null = null;
  try {
    // The engine's own throughput before and after the server runs (no server process alive then); their mean
    // is the reference, so slow drifts in machine load affect both sides alike.
    const engineBefore = await engineThroughput(image, env, seconds, 32);
    const started = await startServe(env);
    server = started.proc;
    await cannon(started.base, image, 4, 2); // warm-up
    const levelsOut: Record<string, unknown>[] = [];
    for (const c of levels) {
      const cpu0 = processCpuSeconds(server.pid!);
      const r = await cannon(started.base, image, c, seconds);
      const cpu1 = processCpuSeconds(server.pid!);
      const fivexx = r['5xx'];
      const row = {
        concurrency: c,
        requests_per_s: r.requests.average,
        total_requests: r.requests.total,
        latency_p50_ms: r.latency.p50,
        latency_p99_ms: r.latency.p99,
        errors: r.errors,
        timeouts: r.timeouts,
        non_2xx: r.non2xx,
        status_5xx: fivexx,
        requests_per_server_cpu_s: cpu0 !== null && cpu1 !== null && cpu1 > cpu0 ? r.requests.total / (cpu1 - cpu0) : null,
      };
      levelsOut.push(row);
      report[`c${c}_requests_per_s`] = row.requests_per_s;
      report[`c${c}_p50_ms`] = row.latency_p50_ms;
      report[`c${c}_p99_ms`] = row.latency_p99_ms;
      report[`c${c}_errors`] = row.errors;
      report[`c${c}_non_2xx`] = row.non_2xx;
      report[`c${c}_5xx`] = row.status_5xx;
    }
    report.levels = levelsOut;
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
    server = null;
    const engineAfter = await engineThroughput(image, env, seconds, 32);
    const engineRate = (engineBefore.rate + engineAfter.rate) / 2;
    const enginePerCpu = (engineBefore.perCpuSecond + engineAfter.perCpuSecond) / 2;
    report.engine_images_per_s_before = engineBefore.rate;
    report.engine_images_per_s_after = engineAfter.rate;
    report.engine_images_per_s = engineRate;
    report.engine_images_per_cpu_s = enginePerCpu;
    const top = levelsOut.find((l) => l.concurrency === Math.max(...levels))!;
    const served = (top.total_requests as number) / seconds;
    report.ratio_at_max_concurrency = served / engineRate;
    report.ratio_target = 0.8;
    report.ratio_ok = served / engineRate >= 0.8 && top.status_5xx === 0;
    // Load-independent check: work per CPU second of the server process vs of the engine alone (the wall-clock
    // ratio is at the mercy of whatever else the machine runs; see load_average_1m).
    const perCpu = top.requests_per_server_cpu_s as number | null;
    report.ratio_per_cpu_s_at_max_concurrency = perCpu === null ? null : perCpu / enginePerCpu;
    report.load_average_1m = loadavg()[0];
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  }
  return report;
}

// Run alone: `node --import tsx bench/server.ts [folder]`.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const folder = resolve(process.argv[2] ?? join(repoRoot, '..', 'shared', 'data', 'imagenet-calib', 'images'));
  const report = await benchServer({ folder });
  console.log(JSON.stringify(report, null, 2));
}

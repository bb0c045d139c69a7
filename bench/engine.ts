// The recognition engine benchmark: decode+preprocess and inference costs, end-to-end classifyFiles
// throughput, the machine bound computed from the measured costs, and 12-megapixel JPEG decoding.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodePhoto } from '../src/vision/decode.js';
import { Engine } from '../src/vision/engine.js';
import { classifyFiles, expandInputs } from '../src/vision/pipeline.js';

export interface EngineBenchOptions {
  folder: string;
  env?: NodeJS.ProcessEnv;
  /** Images used for the per-image timings (default 120). */
  sample?: number;
  /** Images in the end-to-end run (default: all, at most 500). */
  endToEnd?: number;
  /** Folder of camera photos to upscale into 12 MP JPEGs (default ../shared/data/photos/images beside the repo). */
  photos?: string;
}

const ms = (t0: number): number => performance.now() - t0;
const cpuMs = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

async function inferenceMsPerImage(engine: Engine, tensors: Float32Array[], batch: number, rounds: number): Promise<number> {
  const batches: Float32Array[][] = [];
  for (let i = 0; i + batch <= tensors.length && batches.length < rounds; i += batch) batches.push(tensors.slice(i, i + batch));
  await engine.run(batches[0]); // warm-up
  const t0 = performance.now();
  for (const b of batches) await engine.run(b);
  return ms(t0) / (batches.length * batch);
}

export async function benchEngine(opts: EngineBenchOptions): Promise<Record<string, unknown>> {
  const cores = availableParallelism();
  const files = await expandInputs([opts.folder]);
  if (files.length < 16) throw new Error(`need at least 16 images in ${opts.folder}, found ${files.length}`);
  const sample = files.slice(0, Math.min(files.length, opts.sample ?? 120));
  const engine = await Engine.load({ env: opts.env });
  const single = await Engine.load({ env: opts.env, threads: 1 });
  try {
    const spec = engine.model.spec;
    // Decode + preprocess, one photo at a time (sharp itself single-threaded per image).
    const prevConcurrency = sharp.concurrency();
    sharp.concurrency(1);
    for (const f of sample.slice(0, 10)) await decodePhoto(f, spec);
    const tensors: Float32Array[] = [];
    let c0 = process.cpuUsage();
    let t0 = performance.now();
    for (const f of sample) tensors.push((await decodePhoto(f, spec)).tensor);
    const decodeMs = ms(t0) / sample.length;
    const decodeCpuMs = cpuMs(c0) / sample.length;
    sharp.concurrency(prevConcurrency);

    const inferB1 = await inferenceMsPerImage(engine, tensors, 1, 48);
    const inferB16 = await inferenceMsPerImage(engine, tensors, 16, 6);
    const inferB1Single = await inferenceMsPerImage(single, tensors, 1, 32);
    c0 = process.cpuUsage();
    const inferB16Single = await inferenceMsPerImage(single, tensors, 16, 5);
    const inferB16SingleCpu = cpuMs(c0) / (6 * 16);

    // End to end: classifyFiles over the folder, every core.
    const e2eFiles = files.slice(0, Math.min(files.length, opts.endToEnd ?? 500));
    let ok = 0;
    for await (const item of classifyFiles(e2eFiles.slice(0, 16), { engine })) void item; // warm-up
    const load0 = loadavg()[0];
    c0 = process.cpuUsage();
    t0 = performance.now();
    for await (const item of classifyFiles(e2eFiles, { engine })) if (!('error' in item)) ok++;
    const e2eS = ms(t0) / 1000;
    const e2eCpuMs = cpuMs(c0);
    const throughput = e2eFiles.length / e2eS;
    // The bound: every core busy with nothing but decoding and inference, both at their single-thread cost.
    const bound = cores / ((decodeMs + inferB16Single) / 1000);

    // 12-megapixel JPEGs made from sample photos (upscaled), through the decode path.
    const photos = opts.photos ?? join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'shared', 'data', 'photos', 'images');
    const sources = (await expandInputs([photos]).catch(() => [] as string[])).filter((f) => /\.jpe?g$/i.test(f)).slice(0, 4);
    const big: Record<string, number> = {};
    if (sources.length > 0) {
      const dir = mkdtempSync(join(tmpdir(), 'pictograph-bench-'));
      try {
        const made: string[] = [];
        for (const [i, src] of sources.entries()) {
          const out = join(dir, `big-${i}.jpg`);
          await sharp(src).rotate().resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(out);
          made.push(out);
        }
        await decodePhoto(made[0], spec);
        t0 = performance.now();
        for (const f of made) await decodePhoto(f, spec);
        big.decode12mpMsPerImage = ms(t0) / made.length;
        t0 = performance.now();
        for (const f of made) await decodePhoto(f, spec, { thumbnails: [256, 1024] });
        big.decode12mpWithThumbnailsMsPerImage = ms(t0) / made.length;
        big.images12mp = made.length;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    return {
      model: engine.model.id,
      cores,
      images: e2eFiles.length,
      classified: ok,
      decodeMsPerImage: decodeMs,
      inferenceMsPerImageBatch1: inferB1,
      inferenceMsPerImageBatch16: inferB16,
      inferenceMsPerImageBatch1SingleThread: inferB1Single,
      inferenceMsPerImageBatch16SingleThread: inferB16Single,
      endToEndImagesPerS: throughput,
      boundImagesPerS: bound,
      ratioToBound: throughput / bound,
      ...big,
      // CPU-time view (robust to other processes on the machine): what each image costs in CPU, and how
      // many cores the end-to-end run actually got.
      decodeCpuMsPerImage: decodeCpuMs,
      inferenceCpuMsPerImageBatch16SingleThread: inferB16SingleCpu,
      endToEndCpuMsPerImage: e2eCpuMs / e2eFiles.length,
      endToEndCoresUsed: e2eCpuMs / 1000 / e2eS,
      loadAverageAtStart: load0,
      note: 'bound = cores / (decode ms + batch-16 inference ms per image, both single-threaded, same run); on a busy machine compare endToEndCoresUsed with cores',
    };
  } finally {
    await engine.close();
    await single.close();
  }
}

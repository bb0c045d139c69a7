// The ingest benchmark: ingest throughput against classification (decode + batched inference: the bound ingest
// can reach) on the same files in the same run, for the ImageNet sample and for the 12-20 MP camera photos; the
// thumbnail bytes and sizes ingest writes; and the candidate thumbnail encodings (speed and bytes).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { openLibrary } from '../src/library/db.js';
import { ingestFiles } from '../src/library/ingest.js';
import { loadRecognizer, type LoadedRecognizer } from '../src/library/recognizer.js';
import { decodePhoto, type ThumbnailEncoding } from '../src/vision/decode.js';
import { classifyFiles, expandInputs } from '../src/vision/pipeline.js';

export interface IngestBenchOptions {
  folder: string;
  /** ImageNet sample photos ingested (default 200). */
  sample?: number;
  /** Rounds per file set; the report keeps each round's ratio (both rates measured back to back). */
  rounds?: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const shared = resolve(here, '..', '..', 'shared');

async function classifyRate(files: string[], recognizer: LoadedRecognizer): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const item of classifyFiles(files, { engine: recognizer.engine })) if ('prediction' in item) n++;
  return n / ((performance.now() - t0) / 1000);
}

async function ingestRate(files: string[], recognizer: LoadedRecognizer): Promise<{ rate: number; home: string; stored: number }> {
  const home = mkdtempSync(join(tmpdir(), 'pictograph-bench-ingest-'));
  const env = { ...process.env, PICTOGRAPH_HOME: home, DATABASE_URL: '' };
  const lib = await openLibrary({ env });
  try {
    const t0 = performance.now();
    // as `pictograph ingest` runs it (blocking file calls: a batch job)
    const s = await ingestFiles(files, { owner: 'bench', recognizer, db: lib.db, env, blockingFileIo: true });
    return { rate: s.stored / ((performance.now() - t0) / 1000), home, stored: s.stored };
  } finally {
    await lib.close();
  }
}

async function thumbnailBytes(home: string): Promise<{ small: number[]; large: number[] }> {
  const out = { small: [] as number[], large: [] as number[] };
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/-256\.\w+$/.test(e.name)) out.small.push(statSync(p).size);
      else if (/-1024\.\w+$/.test(e.name)) out.large.push(statSync(p).size);
    }
  };
  await walk(join(home, 'media', 'thumbs')).catch(() => walk(home));
  return out;
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** Encodes the 1024 and 256 px copies of each photo in each candidate encoding, one at a time. */
async function encodings(photos: string[]): Promise<Record<string, unknown>[]> {
  const candidates: Array<[string, ThumbnailEncoding]> = [
    ['jpeg q80', { format: 'jpeg', quality: 80 }],
    ['webp q80 effort 0', { format: 'webp', quality: 80, effort: 0 }],
    ['webp q80 effort 2', { format: 'webp', quality: 80, effort: 2 }],
    ['webp q80 effort 4', { format: 'webp', quality: 80, effort: 4 }],
    ['avif q50 effort 0', { format: 'avif', quality: 50, effort: 0 }],
  ];
  const copies = await Promise.all(
    photos.map((p) => sharp(p, { autoOrient: true }).resize(1024, 1024, { fit: 'inside', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true })),
  );
  const rows: Record<string, unknown>[] = [];
  const prev = sharp.concurrency();
  sharp.concurrency(1);
  try {
    const encode = (c: (typeof copies)[number], size: number, enc: ThumbnailEncoding, mozjpeg = false) => {
      let img = sharp(c.data, { raw: { width: c.info.width, height: c.info.height, channels: 3 } });
      if (size < 1024) img = img.resize(size, size, { fit: 'inside' });
      img = enc.format === 'jpeg' ? img.jpeg({ quality: enc.quality, mozjpeg }) : enc.format === 'webp' ? img.webp({ quality: enc.quality, effort: enc.effort }) : img.avif({ quality: enc.quality, effort: enc.effort });
      return img.toBuffer();
    };
    for (const [name, enc] of [...candidates, ['jpeg q80 mozjpeg (trellis)', { format: 'jpeg', quality: 80 }] as [string, ThumbnailEncoding]]) {
      const moz = name.includes('mozjpeg');
      for (const size of [1024, 256]) {
        await encode(copies[0]!, size, enc, moz); // warm-up
        const c0 = process.cpuUsage();
        let bytes = 0;
        for (const c of copies) bytes += (await encode(c, size, enc, moz)).length;
        const cpu = process.cpuUsage(c0);
        rows.push({ encoding: name, size, cpu_ms_per_photo: (cpu.user + cpu.system) / 1000 / copies.length, kb_per_photo: bytes / 1024 / copies.length });
      }
    }
  } finally {
    sharp.concurrency(prev);
  }
  return rows;
}

export async function benchIngest(opts: IngestBenchOptions): Promise<Record<string, unknown>> {
  process.env.PICTOGRAPH_MODEL_MIRROR ??= join(shared, 'models');
  const rounds = opts.rounds ?? 3;
  const calib = (await expandInputs([opts.folder])).slice(0, opts.sample ?? 200);
  const photoDir = join(shared, 'data', 'photos', 'images');
  const big: string[] = [];
  for (const f of await expandInputs([photoDir])) {
    const m = await sharp(f).metadata();
    if ((m.width ?? 0) * (m.height ?? 0) >= 10_000_000) big.push(f);
  }
  const recognizer = await loadRecognizer();
  const report: Record<string, unknown> = { cores: availableParallelism(), load_average_at_start: loadavg()[0] };
  try {
    // warm-up: the engine, sharp, SQLite
    await classifyRate(calib.slice(0, 16), recognizer);
    rmSync((await ingestRate(calib.slice(0, 8), recognizer)).home, { recursive: true, force: true });
    for (const [name, files] of [
      ['imagenet', calib],
      ['photos_12_20mp', big],
    ] as const) {
      const ratios: number[] = [];
      let last: { classify: number; ingest: number; thumbs: { small: number[]; large: number[] } } | null = null;
      for (let r = 0; r < rounds; r++) {
        const classify = await classifyRate(files, recognizer);
        const ing = await ingestRate(files, recognizer);
        const thumbs = await thumbnailBytes(ing.home);
        rmSync(ing.home, { recursive: true, force: true });
        ratios.push(ing.rate / classify);
        last = { classify, ingest: ing.rate, thumbs };
      }
      report[`${name}_photos`] = files.length;
      report[`${name}_classify_photos_per_s`] = last!.classify;
      report[`${name}_ingest_photos_per_s`] = last!.ingest;
      report[`${name}_ingest_vs_classify`] = last!.ingest / last!.classify;
      report[`${name}_ingest_vs_classify_rounds`] = ratios.map((x) => Number(x.toFixed(3))).join(' ');
      report[`${name}_thumb_256_kb_per_photo`] = mean(last!.thumbs.small) / 1024;
      // Photos no larger than 1024 px get no large copy (their original serves): only the larger ones count here.
      report[`${name}_thumb_1024_files`] = last!.thumbs.large.length;
      report[`${name}_thumb_1024_kb_per_file`] = mean(last!.thumbs.large) / 1024;
    }
    // What a 12-20 MP photo becomes: the two thumbnails' pixel sizes (the working copy is the 1024 one).
    const d = await decodePhoto(big[0]!, recognizer.engine.model.spec, { thumbnails: [256, 1024] });
    report.thumbnail_sizes_of_a_camera_photo = d.thumbnails!.map((t) => `${t.size}: ${t.width}x${t.height} ${t.format} ${(t.data.length / 1024).toFixed(0)} KB`).join(', ');
    report.encodings = await encodings(big);
    report.load_average_at_end = loadavg()[0];
    report.note = 'ratios: ingest photos/s over classify photos/s (decode + batched inference), measured back to back per round';
    return report;
  } finally {
    await recognizer.close();
  }
}

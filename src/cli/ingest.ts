// `pictograph ingest <dir|files...> --owner NAME`: classify and store an owner's photos, with progress and a summary.
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { openLibrary } from '../library/db.js';
import { ingestFiles, type IngestSummary } from '../library/ingest.js';
import { faceStage } from '../library/face-stage.js';
import { loadRecognizer } from '../library/recognizer.js';
import { sweepMedia } from '../library/media.js';
import { mediaDir } from '../config/paths.js';
import { FaceDetector } from '../vision/faces/detector.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import { submitIngest } from '../jobs/submit.js';
import { openQueue } from './worker.js';

export interface IngestCliOptions {
  owner: string;
  public?: boolean;
  keepGps?: boolean;
  model: string;
  json?: boolean;
  concurrency?: string;
  queue?: boolean;
  /** commander's `--no-faces`: false turns face detection off for this run. */
  faces?: boolean;
}

export function printSummary(s: IngestSummary, out: NodeJS.WritableStream = process.stdout): void {
  out.write(
    `ingested for ${s.owner} with ${s.model.id}: ${s.total} files, ${s.stored} classified and stored, ` +
      `${s.reused} reused, ${s.skipped} already stored, ${s.failed} failed ` +
      `(${s.seconds.toFixed(1)} s, ${s.rate.toFixed(1)} files/s)` +
      (s.faces > 0 || s.people > 0 ? `; ${s.faces} faces, ${s.people} new people` : '') +
      '\n',
  );
  for (const e of s.errors) out.write(`  failed: ${e.file}: ${e.code}: ${e.message}\n`);
}

export function register(program: Command): void {
  program
    .command('ingest')
    .description("classify and store an owner's photos (folders recursively); re-running is safe and skips what is stored")
    .argument('<paths...>', 'image files or folders')
    .requiredOption('--owner <name>', 'whose photos these are')
    .option('--public', 'make the photos visible to everyone (default: private)')
    .option('--keep-gps', 'keep GPS coordinates from EXIF (dropped by default)')
    .option('-m, --model <id>', 'model id (default PICTOGRAPH_MODEL, else mobilenetv2-12-int8)', process.env.PICTOGRAPH_MODEL || DEFAULT_MODEL_ID)
    .option('--concurrency <n>', 'photos in flight at once (default: 4 x cores)')
    .option('--queue', 'submit one job per photo to the PostgreSQL queue (DATABASE_URL) for `pictograph worker`s instead of ingesting here')
    .option('--no-faces', 'do not detect faces and people')
    .option('--json', 'print the summary as JSON')
    .action(async (paths: string[], o: IngestCliOptions) => {
      if (o.queue) {
        const queue = await openQueue();
        try {
          const s = await submitIngest(queue, paths, { owner: o.owner, model: o.model, visibility: o.public ? 'public' : 'private', keepGps: Boolean(o.keepGps) });
          if (o.json) process.stdout.write(JSON.stringify(s) + '\n');
          else {
            process.stdout.write(`queued for ${o.owner}: ${s.files} files, ${s.submitted} new jobs, ${s.existing} already queued or done; follow with \`pictograph jobs\`\n`);
            for (const u of s.unreadable) process.stdout.write(`  unreadable: ${u.file}: ${u.message}\n`);
          }
          if (s.unreadable.length > 0) process.exitCode = 1;
        } finally {
          await queue.close();
        }
        return;
      }
      const summary = await runIngest(paths, o);
      if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else printSummary(summary);
      if (summary.failed > 0) process.exitCode = 1;
    });
}

/** Ingests as `pictograph ingest` does (progress bar on a TTY), resolving to the summary; used by `ingest` and `up`. */
export async function runIngest(paths: string[], o: Omit<IngestCliOptions, 'json'>): Promise<IngestSummary> {
  const recognizer = await loadRecognizer({ modelId: o.model });
  const detector = o.faces === false ? undefined : await FaceDetector.load();
  const lib = await openLibrary();
  const bar = process.stderr.isTTY
    ? new SingleBar({
        stream: process.stderr,
        format: 'ingest [{bar}] {value}/{total} | {rate} photos/s | ETA {eta_formatted} | {failed} failed',
        hideCursor: true,
        etaBuffer: 50,
      })
    : null;
  const started = performance.now();
  let lastLine = started;
  try {
    // Temporary thumbnails of an earlier, killed run: moved into place if committed, removed otherwise.
    await sweepMedia(lib.db, mediaDir());
    const summary = await ingestFiles(paths, {
      owner: o.owner,
      visibility: o.public ? 'public' : 'private',
      keepGps: Boolean(o.keepGps),
      recognizer,
      db: lib.db,
      concurrency: o.concurrency ? Number(o.concurrency) : undefined,
      // a batch job: files read and thumbnails written with blocking calls (less main-thread work a photo)
      blockingFileIo: true,
      faces: detector ? faceStage(detector, recognizer.taxonomy.hierarchy) : undefined,
      onProgress: (p) => {
        const now = performance.now();
        const perSecond = p.done / Math.max(1e-3, (now - started) / 1000);
        const rate = perSecond.toFixed(1);
        if (bar) {
          if (p.done === 1) bar.start(p.total, 0, { rate, failed: 0 });
          bar.update(p.done, { rate, failed: p.failed });
        } else if (now - lastLine >= 5000 && p.done < p.total) {
          // Not a terminal (a log, a pipe): a plain progress line every few seconds instead of a bar.
          lastLine = now;
          const eta = Math.ceil((p.total - p.done) / Math.max(perSecond, 1e-3));
          process.stderr.write(`ingest: ${p.done}/${p.total} photos, ${rate} photos/s, ETA ${eta} s, ${p.failed} failed\n`);
        }
      },
    });
    bar?.stop();
    return summary;
  } finally {
    bar?.stop();
    await recognizer.close();
    await detector?.close();
    await lib.close();
  }
}

// Slow per-file evidence for training and evaluating the everyday heads, computed once and cached in
// $PICTOGRAPH_HOME/cache (never committed): face/person detections (so the evaluation measures the tags the
// product outputs, with detection deciding person/group/portrait) and embeddings of augmented copies
// (horizontal flip, crops) through the same engine path as a stored photo.
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { cacheDir } from '../config/paths.js';
import { decodePhoto } from '../vision/decode.js';
import type { Engine } from '../vision/engine.js';
import { wantsTurn } from '../taxonomy/people.js';
import type { FaceDetection, FaceDetector } from '../vision/faces/detector.js';

/** The cache key of a file: its real path (so ../shared/data and /abs/shared/data share a cache), size and mtime. */
async function fileKey(file: string): Promise<string> {
  const s = await stat(file);
  return `${await realpath(file)}|${s.size}|${Math.round(s.mtimeMs)}`;
}

async function cached<T>(
  name: string,
  salt: string,
  files: string[],
  env: NodeJS.ProcessEnv | undefined,
  compute: (file: string, index: number) => Promise<T>,
  onProgress?: (done: number, total: number) => void,
): Promise<T[]> {
  const keys = await Promise.all(files.map(fileKey));
  const id = createHash('sha256').update(salt).update(keys.join('\n')).digest('hex').slice(0, 16);
  const path = join(cacheDir(env), `${name}-${id}.json`);
  const hit = await readFile(path, 'utf8').then((t) => JSON.parse(t) as { keys: string[]; items: T[] }).catch(() => null);
  if (hit && hit.keys.join('\n') === keys.join('\n')) return hit.items;
  const items: T[] = [];
  for (const [i, file] of files.entries()) {
    items.push(await compute(file, i));
    onProgress?.(i + 1, files.length);
  }
  await mkdir(cacheDir(env), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify({ keys, items }));
  await rename(`${path}.tmp`, path);
  return items;
}

/** What the people decision needs of a detection (no face descriptors, no landmarks). */
export type PeopleDetection = Omit<FaceDetection, 'ms' | 'looked' | 'turn' | 'looks'>;

/**
 * A photo's detections: every stage on the upright photo and, where no face counts upright but the photo turned
 * shows one (taxonomy/people.ts `wantsTurn`, asked as if the person cue were certain), the turned look's too, so an
 * evaluation can apply the turn rule with each photo's own cue.
 */
export type CachedDetection = PeopleDetection & { turned?: PeopleDetection & { turn: FaceDetection['turn'] } };

const NO_FACE_LEFT_OPEN = { animalScore: 0, personCue: Infinity, groupCue: null, portraitCue: null };

const forPeople = (d: FaceDetection): PeopleDetection => ({
  faces: d.faces.map((f) => ({ ...f, landmarks: [], embedding: null })),
  persons: d.persons,
  bodies: d.bodies,
  width: d.width,
  height: d.height,
});

/** Face and person detections of `files` (a file the detector fails on counts as no detection). */
export function detectFilesCached(
  files: string[],
  detector: FaceDetector,
  opts: { env?: NodeJS.ProcessEnv; onProgress?: (done: number, total: number) => void } = {},
): Promise<CachedDetection[]> {
  return cached(
    `people-${detector.name}`,
    `${detector.name}|turned`,
    files,
    opts.env,
    async (file): Promise<CachedDetection> => {
      const d = await detector.detect(file).catch(() => null);
      if (!d) return { faces: [], persons: [], bodies: false, width: 0, height: 0 };
      const turned = wantsTurn(d.faces, NO_FACE_LEFT_OPEN)
        ? await detector.detect(file, { wantTurn: (found) => wantsTurn(found.faces, NO_FACE_LEFT_OPEN) }).catch(() => null)
        : null;
      return { ...forPeople(d), ...(turned && turned.turn !== 0 ? { turned: { ...forPeople(turned), turn: turned.turn } } : {}) };
    },
    opts.onProgress,
  );
}

/** Training-time augmentations of a photo. */
export type Augmentation = 'flip' | 'crop' | 'crop-flip';
export const AUGMENTATIONS: readonly Augmentation[] = ['flip', 'crop', 'crop-flip'];

/** The augmented photo's bytes: mirrored, and/or its central 80% (the engine then decodes it like any photo). */
export async function augmentedBytes(file: string, how: Augmentation): Promise<Buffer> {
  let img = sharp(file, { failOn: 'none', limitInputPixels: 100_000_000 }).rotate();
  if (how !== 'flip') {
    const { data, info } = await img.toBuffer({ resolveWithObject: true });
    const w = Math.max(1, Math.round(info.width * 0.8));
    const h = Math.max(1, Math.round(info.height * 0.8));
    img = sharp(data).extract({ left: Math.floor((info.width - w) / 2), top: Math.floor((info.height - h) / 2), width: w, height: h });
  }
  if (how !== 'crop') img = img.flop();
  return img.jpeg({ quality: 95 }).toBuffer();
}

/** Embeddings (unit length, as the engine returns them) of augmented copies of `files`, base64 float32 in the cache. */
export async function embedAugmentedCached(
  files: string[],
  how: Augmentation,
  engine: Engine,
  opts: { env?: NodeJS.ProcessEnv; onProgress?: (done: number, total: number) => void } = {},
): Promise<Float32Array[]> {
  const items = await cached(
    `augmented-${how}-${engine.model.id}`,
    `${engine.model.sha256}|${how}`,
    files,
    opts.env,
    async (file) => {
      const d = await decodePhoto(await augmentedBytes(file, how), engine.model.spec);
      const [p] = await engine.run([d.tensor]);
      return Buffer.from(p.embedding.buffer, p.embedding.byteOffset, p.embedding.byteLength).toString('base64');
    },
    opts.onProgress,
  );
  return items.map((b) => {
    const bytes = Buffer.from(b, 'base64');
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  });
}

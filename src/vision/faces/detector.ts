// Face and person detection for photos: a worker thread running @vladmandic/human on the wasm backend (offline,
// weights from the npm package), fed one EXIF-rotated RGB image at most DETECT_SIDE pixels on its long side.
// Two stages: faces (BlazeFace + mesh + descriptor: ~21 ms plus ~45 ms a face) always, then the COCO object
// detector (CenterNet at 384 px, person class only: ~70-110 ms) only when the caller's `wantBodies` asks for it
// after seeing the faces. Costs: src/vision/README.md, "People".
// Where the caller's `wantTurn` asks (no face upright, yet the photo looks like people), the face stage looks again
// at the photo turned a quarter either way and upside down (turn.ts): photos stored sideways without EXIF.
// Boxes come back in the original photo's pixels (after EXIF orientation). The queue is bounded: callers wait
// (ingest) or are refused with `faces_busy` (server) rather than piling decoded images up in memory.
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import type { DetectImage, DetectSource } from '../decode.js';
import type { FaceWorkerInit, FaceWorkerReply, FaceWorkerRequest, FaceWorkerStages, RawFace, RawObject } from './worker.js';
import { judgeDetections, type DetectedFace, type DetectedPerson } from './evidence.js';
import { TURNS, turnImage, unturnBox, unturnPoint, type Turn } from './turn.js';

export type { DetectedFace, DetectedPerson } from './evidence.js';
export type { Turn } from './turn.js';

/** Long side of the image given to the detectors (BlazeFace looks at 256 px, CenterNet at OBJECT_SIDE). */
export const DETECT_SIDE = 640;

/**
 * CenterNet's input side. The model ships at 512 px; at 384 it costs ~0.6 of that and decided person tags as at
 * 512 on the 439 shared photos (src/vision/README.md, "People"); 320 lost one.
 */
export const OBJECT_SIDE = 384;

export interface FaceDetection {
  /** Faces judged real (not animal faces, carvings...), best first. */
  faces: DetectedFace[];
  /** COCO `person` boxes from the object detector. */
  persons: DetectedPerson[];
  /** The photo's size (after EXIF orientation) the boxes refer to. */
  width: number;
  height: number;
  /** Milliseconds spent in the detectors. */
  ms: number;
  /** Whether the object detector ran (false: `persons` is empty because bodies were not looked for). */
  bodies: boolean;
  /** Whether the detectors looked at the photo at all (false: `wantFaces` ruled people out; nothing is known). */
  looked: boolean;
  /**
   * The clockwise turn of the photo the faces (and bodies) were found in: 0 upright; otherwise the photo looks
   * stored turned the other way. Boxes and landmarks are in the photo as stored either way; a face's pose (roll)
   * is as seen in the turned photo.
   */
  turn: Turn;
  /** Face-stage runs: 1 upright, plus one for each turned look (0 when not looked). */
  looks: number;
}

export interface DetectOptions {
  /** With a full queue, throw faces_busy instead of waiting. */
  reject?: boolean;
  /**
   * Asked after the face stage with its result: whether to look for person bodies too (the object detector
   * costs three to five times the face stage). Default: always.
   */
  wantBodies?: (faces: FaceDetection) => boolean | Promise<boolean>;
  /**
   * Asked after the face stage with its result, and again with each turned look's: whether to look at the photo
   * turned (TURNS: a quarter clockwise, a quarter back, upside down; one face-stage run each). The first look it
   * no longer asks to go on from is kept, bodies are then looked for in that turn; when every turn leaves it
   * asking, the upright result stands. Default: never.
   */
  wantTurn?: (faces: FaceDetection) => boolean | Promise<boolean>;
  /**
   * Asked first, before the photo is decoded or queued: whether to look at it at all (false: an empty detection
   * with `looked: false` comes back at no cost). Default: always.
   */
  wantFaces?: () => boolean | Promise<boolean>;
  /** The photo already decoded (ingest's one decode); resolving undefined, or failing: `input` is decoded. */
  decoded?: Promise<DetectSource | undefined>;
}

export class FaceError extends Error {
  override name = 'FaceError';
  constructor(
    readonly code: 'faces_unavailable' | 'faces_busy' | 'faces_failed',
    message: string,
  ) {
    super(message);
  }
}

export interface FaceDetectorOptions {
  /** Photos waiting or in detection at once; beyond it `detect` waits (or throws faces_busy with `reject`). */
  maxQueue?: number;
  /** Compute face embeddings (needed for people; default true). */
  embeddings?: boolean;
  /** CenterNet's input side (default OBJECT_SIDE). */
  objectSide?: number;
}

function startWorker(init: FaceWorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = new URL('./worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(script)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

/** Decodes a photo for the detectors: EXIF-rotated, at most DETECT_SIDE px, 8-bit RGB. */
export async function decodeForFaces(input: Buffer | string): Promise<DetectImage> {
  const image = sharp(input, { failOn: 'none', limitInputPixels: 100_000_000 }).rotate();
  const meta = await sharp(input, { failOn: 'none', limitInputPixels: 100_000_000 }).metadata();
  const swap = (meta.orientation ?? 1) >= 5;
  const fullW = (swap ? meta.height : meta.width) ?? 0;
  const fullH = (swap ? meta.width : meta.height) ?? 0;
  const { data, info } = await image
    .resize({ width: DETECT_SIDE, height: DETECT_SIDE, fit: 'inside', withoutEnlargement: true })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const scale = fullW > 0 ? fullW / info.width : 1;
  return { rgb: data, width: info.width, height: info.height, scale, fullWidth: fullW || info.width, fullHeight: fullH || info.height };
}

export class FaceDetector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: { faces: RawFace[]; objects: RawObject[]; ms: number }) => void; reject: (e: Error) => void }>();
  private readonly waiting: Array<() => void> = [];
  private inFlight = 0;
  private closed = false;
  /** Names the detector in stored scans, e.g. `human-3.3.6`. */
  readonly name: string;

  private constructor(
    private readonly worker: Worker,
    readonly maxQueue: number,
    readonly version: string,
  ) {
    this.name = `human-${version}`;
    worker.on('message', (m: FaceWorkerReply) => {
      if (m.type !== 'result' && m.type !== 'error') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === 'result') p.resolve(m);
      else p.reject(new FaceError('faces_failed', `face detection failed: ${m.message}`));
      if (this.pending.size === 0) worker.unref();
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => this.failAll(new FaceError('faces_unavailable', 'face detection worker stopped')));
    worker.unref();
  }

  /** Starts the worker and loads the models from the installed packages (no network). */
  static async load(opts: FaceDetectorOptions = {}): Promise<FaceDetector> {
    // The box-score floor is the people rule's (0.6, less half a rounding step: human rounds scores to 0.01):
    // weaker boxes never count, and each box costs a mesh and a descriptor run. Human drops faces whose mesh
    // confidence is under the same floor (the rule asks 0.85).
    const worker = startWorker({ minFaceScore: 0.595, minObjectScore: 0.1, maxFaces: 20, embeddings: opts.embeddings ?? true, objectSide: opts.objectSide ?? OBJECT_SIDE });
    const ready = await new Promise<FaceWorkerReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw new FaceError('faces_unavailable', `face detection could not start: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (ready.type !== 'ready') {
      await worker.terminate();
      throw new FaceError('faces_unavailable', `face detection could not start: ${ready.type === 'failed' ? ready.message : ready.type}`);
    }
    return new FaceDetector(worker, Math.max(1, opts.maxQueue ?? 4), ready.version);
  }

  private failAll(err: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(err instanceof FaceError ? err : new FaceError('faces_failed', err.message));
    this.pending.clear();
  }

  /** Photos waiting or being detected now. */
  get queued(): number {
    return this.inFlight;
  }

  /** Detects faces, and persons when `wantBodies` asks for them, in a photo (bytes or path). */
  async detect(input: Buffer | string, opts: DetectOptions = {}): Promise<FaceDetection> {
    if (this.closed) throw new FaceError('faces_unavailable', 'face detector is closed');
    if (opts.wantFaces && !(await opts.wantFaces())) return { faces: [], persons: [], width: 0, height: 0, ms: 0, bodies: false, looked: false, turn: 0, looks: 0 };
    if (this.inFlight >= this.maxQueue) {
      if (opts.reject) throw new FaceError('faces_busy', 'face detection queue is full');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.inFlight++;
    try {
      const source = await opts.decoded?.catch(() => undefined);
      const image = (source ? await source(DETECT_SIDE).catch(() => undefined) : undefined) ?? (await decodeForFaces(input));
      let looks = 1;
      const judge = (faces: RawFace[], objects: RawObject[], ms: number, bodies: boolean, turn: Turn): FaceDetection => ({
        ...judgeDetections(faces, objects, image.width, image.height, image.scale),
        width: image.fullWidth,
        height: image.fullHeight,
        ms,
        bodies,
        looked: true,
        turn,
        looks,
      });
      if (!opts.wantBodies && !opts.wantTurn) {
        const raw = await this.run(image.rgb, image.width, image.height, { faces: true, objects: true });
        return judge(raw.faces, raw.objects, raw.ms, true, 0);
      }
      // Raw detections of a turned look, back in the upright image's pixels.
      const unturnFaces = (faces: RawFace[], turn: Turn): RawFace[] =>
        faces.map((f) => ({ ...f, box: unturnBox(f.box, turn, image.width, image.height), landmarks: f.landmarks.map((p) => unturnPoint(p, turn, image.width, image.height)) }));
      const first = await this.run(image.rgb, image.width, image.height, { faces: true, objects: false });
      let view = { turn: 0 as Turn, rgb: image.rgb, width: image.width, height: image.height, faces: first.faces };
      let ms = first.ms;
      if (opts.wantTurn && (await opts.wantTurn(judge(first.faces, [], ms, false, 0)))) {
        for (const turn of TURNS) {
          const turned = await turnImage(image, turn);
          const look = await this.run(turned.rgb, turned.width, turned.height, { faces: true, objects: false });
          ms += look.ms;
          looks++;
          const faces = unturnFaces(look.faces, turn);
          if (!(await opts.wantTurn(judge(faces, [], ms, false, turn)))) {
            view = { turn, ...turned, faces };
            break;
          }
        }
      }
      const facesOnly = judge(view.faces, [], ms, false, view.turn);
      if (opts.wantBodies && !(await opts.wantBodies(facesOnly))) return facesOnly;
      const second = await this.run(view.rgb, view.width, view.height, { faces: false, objects: true });
      const objects = second.objects.map((o) => ({ ...o, box: unturnBox(o.box, view.turn, image.width, image.height) }));
      return judge(view.faces, objects, ms + second.ms, true, view.turn);
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private run(rgb: Buffer, width: number, height: number, stages: FaceWorkerStages): Promise<{ faces: RawFace[]; objects: RawObject[]; ms: number }> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      const copy = new Uint8Array(rgb.length);
      copy.set(rgb);
      const msg: FaceWorkerRequest = { type: 'detect', id, rgb: copy, width, height, stages };
      this.worker.postMessage(msg, [copy.buffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}

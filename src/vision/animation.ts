// Animated GIF, WebP and APNG: every frame composed as a browser shows it, with real timestamps. GIF and
// WebP frames come composed from libvips (libnsgif honours GIF disposal 1-3 and transparency; libvips'
// webpload honours ANMF blending and dispose-to-background); APNG is not animated by libvips (it returns the
// default image only), so its frames are composed here (apng.ts). Work and memory are bounded: frames past
// the limits are not read, and the result says so.
import sharp, { type Metadata, type Sharp } from 'sharp';
import { cropGeometry, PhotoError, toTensor, DEFAULT_MAX_BYTES } from './decode.js';
import type { InputSpec } from './manifest.js';
import { apngFrames, apngInfo } from './apng.js';

export type AnimationFormat = 'gif' | 'webp' | 'png';

/**
 * Browsers (Chromium, Firefox, WebKit) show a frame whose delay is under 20 ms for 100 ms instead (many old
 * GIFs say 0 or 10 ms and mean "default"); we follow them so timestamps match what people saw.
 */
export const SHORT_DELAY_MS = 20;
export const SHORT_DELAY_SHOWN_MS = 100;

/** How long a frame with this declared delay is on screen. */
export function effectiveDelayMs(declaredMs: number): number {
  return !(declaredMs >= SHORT_DELAY_MS) ? SHORT_DELAY_SHOWN_MS : declaredMs;
}

export interface AnimationLimits {
  /** Largest file (default 100 MiB, as for photos). */
  maxBytes?: number;
  /** Largest canvas, width x height (default 16.7 MP = 4096 x 4096). */
  maxCanvasPixels?: number;
  /** Frames read at most; later ones are left out with a notice (default 1000). */
  maxFrames?: number;
  /** Canvas pixels composed at most, all frames together (default 500 MP): bounds decode work. */
  maxWorkPixels?: number;
  /** Bytes of model-sized frames kept in memory at most (default 64 MiB). */
  maxFrameBytes?: number;
}

export const DEFAULT_ANIMATION_LIMITS = {
  maxBytes: DEFAULT_MAX_BYTES,
  maxCanvasPixels: 4096 * 4096,
  maxFrames: 1000,
  maxWorkPixels: 500_000_000,
  maxFrameBytes: 64 * 1024 * 1024,
} as const;

/** What the header says about an animation. */
export interface AnimationInfo {
  format: AnimationFormat;
  width: number;
  height: number;
  /** Frames the file declares. */
  frames: number;
}

export interface AnimationFrame {
  index: number;
  /** When the frame appears, from the effective delays of the frames before it. */
  startMs: number;
  /** How long it stays (effective delay). */
  durationMs: number;
  /** The delay the file declares. */
  declaredDelayMs: number;
}

export interface DecodedAnimation {
  format: AnimationFormat;
  width: number;
  height: number;
  /** Frames the file declares (those read are `frames`). */
  declaredFrames: number;
  frames: AnimationFrame[];
  /** Total time on screen of the frames read. */
  durationMs: number;
  /** Why fewer frames than declared were read (limits, a truncated file), or null. */
  notice: string | null;
  /** Every frame read, composed and resized to the model's pre-crop geometry, RGB uint8. */
  base: { width: number; height: number; pixels: Uint8Array[] };
}

type Input = string | Buffer;
const describe = (input: Input): string => (typeof input === 'string' ? input : `buffer of ${input.length} bytes`);

/**
 * The animation in `input`, or null when it is a still image (one frame, or not GIF / WebP / PNG).
 * Reads the header only.
 */
export async function animationInfo(input: Input): Promise<AnimationInfo | null> {
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch {
    return null; // not an image: decodePhoto says why
  }
  if (meta.format === 'png') {
    // acTL must come before the first IDAT: the head of the file is enough.
    const bytes = typeof input === 'string' ? await readHead(input, APNG_HEAD_BYTES) : input;
    const info = apngInfo(bytes);
    return info && info.frames > 1 ? { format: 'png', width: info.width, height: info.height, frames: info.frames } : null;
  }
  if ((meta.format === 'gif' || meta.format === 'webp') && (meta.pages ?? 1) > 1) {
    return { format: meta.format, width: meta.width ?? 0, height: meta.pageHeight ?? meta.height ?? 0, frames: meta.pages ?? 1 };
  }
  return null;
}

const APNG_HEAD_BYTES = 1024 * 1024;

async function readHead(path: string, n: number): Promise<Buffer> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function timestamps(declared: number[]): { frames: AnimationFrame[]; durationMs: number } {
  let t = 0;
  const frames = declared.map((d, index) => {
    const durationMs = effectiveDelayMs(d);
    const f = { index, startMs: t, durationMs, declaredDelayMs: d };
    t += durationMs;
    return f;
  });
  return { frames, durationMs: t };
}

/** RGB frames of `count` pages stacked vertically -> one array per frame. */
function splitPages(data: Buffer, count: number, frameBytes: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => new Uint8Array(data.buffer, data.byteOffset + i * frameBytes, frameBytes));
}

const resized = (img: Sharp, g: { width: number; height: number }): Sharp =>
  img.resize(g.width, g.height, { fit: 'fill', kernel: 'linear' }).removeAlpha().toColourspace('srgb').raw();

/**
 * Decodes an animation's frames, composed, at the model's pre-crop geometry (the same resize the photo path
 * makes), with their timestamps. Throws PhotoError for files that are not animations or break a hard limit
 * (canvas too large); reads fewer frames than declared, with a `notice`, when a soft limit is met or the
 * file ends early.
 */
export async function decodeAnimation(input: Input, spec: InputSpec, limits: AnimationLimits = {}): Promise<DecodedAnimation> {
  const lim = { ...DEFAULT_ANIMATION_LIMITS, ...limits };
  const bytes = typeof input === 'string' ? await readBounded(input, lim.maxBytes) : input;
  if (bytes.length === 0) throw new PhotoError('empty_file', `${describe(input)}: file is empty (0 bytes)`);
  if (bytes.length > lim.maxBytes) throw new PhotoError('too_large', `${describe(input)}: ${bytes.length} bytes is over the limit of ${lim.maxBytes} bytes`);
  const info = await animationInfo(bytes);
  if (!info) {
    // Say why: a file libvips cannot read at all (a cut-short WebP) versus a still image.
    const why = await sharp(bytes, { limitInputPixels: false }).metadata().then(
      () => null,
      (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '',
    );
    if (why !== null) {
      const truncated = /truncat|premature|end of|unexpected end|out of data|short read/i.test(why);
      throw new PhotoError(truncated ? 'truncated' : 'decode_failed', `${describe(input)}: cannot read the animation (${why})`);
    }
    throw new PhotoError('unsupported_format', `${describe(input)}: not an animation (GIF, WebP or APNG with more than one frame)`);
  }
  const canvas = info.width * info.height;
  if (canvas <= 0) throw new PhotoError('decode_failed', `${describe(input)}: animation has no pixels`);
  if (canvas > lim.maxCanvasPixels) {
    throw new PhotoError(
      'too_many_pixels',
      `${describe(input)}: animation canvas ${info.width}x${info.height} is ${canvas} pixels, over the limit of ${lim.maxCanvasPixels} for animations`,
    );
  }
  const g = cropGeometry(info.width, info.height, spec);
  const frameBytes = g.width * g.height * 3;
  const caps = [
    { n: lim.maxFrames, why: `at most ${lim.maxFrames} frames are read` },
    { n: Math.floor(lim.maxWorkPixels / canvas), why: `at most ${lim.maxWorkPixels} canvas pixels are composed` },
    { n: Math.floor(lim.maxFrameBytes / frameBytes), why: `at most ${lim.maxFrameBytes} bytes of frames are kept` },
  ];
  let wanted = info.frames;
  let notice: string | null = null;
  for (const c of caps) {
    if (c.n < wanted) {
      wanted = Math.max(1, c.n);
      notice = `read the first ${wanted} of ${info.frames} frames (${c.why})`;
    }
  }

  let pixels: Uint8Array[];
  let delays: number[];
  if (info.format === 'png') {
    pixels = [];
    delays = [];
    const frames = apngFrames(bytes, { maxFrames: wanted, maxCanvasPixels: lim.maxCanvasPixels });
    try {
      for await (const f of frames) {
        const { data } = await resized(sharp(f.rgba, { raw: { width: info.width, height: info.height, channels: 4 } }), g).toBuffer({ resolveWithObject: true });
        pixels.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
        delays.push(f.delayMs);
      }
    } catch (err) {
      if (!(err instanceof PhotoError) || err.code !== 'truncated' || pixels.length === 0) throw err;
      notice = `file is truncated: read the ${pixels.length} complete frames of ${info.frames}`;
    }
  } else {
    ({ pixels, delays, notice } = await readPages(bytes, info, wanted, g, notice));
  }
  const { frames, durationMs } = timestamps(delays);
  return { format: info.format, width: info.width, height: info.height, declaredFrames: info.frames, frames, durationMs, notice, base: { width: g.width, height: g.height, pixels } };
}

/** GIF / WebP pages 0..n-1 through libvips; a truncated file is read up to its last complete frame. */
async function readPages(
  bytes: Buffer,
  info: AnimationInfo,
  wanted: number,
  g: { width: number; height: number },
  notice: string | null,
): Promise<{ pixels: Uint8Array[]; delays: number[]; notice: string | null }> {
  const frameBytes = g.width * g.height * 3;
  const attempt = async (n: number): Promise<{ pixels: Uint8Array[]; delays: number[] }> => {
    const img = sharp(bytes, { pages: n, limitInputPixels: false, failOn: 'truncated' });
    const meta = await img.metadata();
    const { data } = await resized(img, g).toBuffer({ resolveWithObject: true });
    const declared = meta.delay ?? [];
    return { pixels: splitPages(data, n, frameBytes), delays: Array.from({ length: n }, (_, i) => declared[i] ?? 0) };
  };
  try {
    const read = await attempt(wanted);
    // libnsgif drops an incomplete last frame silently: a GIF without its trailer byte is cut short.
    if (info.format === 'gif' && bytes[bytes.length - 1] !== 0x3b && wanted === info.frames) {
      return { ...read, notice: `file is truncated (no GIF trailer): read the ${read.pixels.length} complete frames` };
    }
    return { ...read, notice };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (!/truncat|premature|end of|out of data|short read|read error|corrupt|invalid|unexpected|Unknown error/i.test(msg)) {
      throw new PhotoError('decode_failed', `cannot decode animation (${msg.split('\n')[0]})`);
    }
    // A file that ends early: find the last frame that decodes cleanly (binary search over frame counts).
    let lo = 0;
    let hi = wanted - 1;
    let best: { pixels: Uint8Array[]; delays: number[] } | null = null;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      try {
        best = await attempt(mid);
        lo = mid;
      } catch {
        hi = mid - 1;
      }
    }
    if (!best || best.pixels.length !== lo || lo === 0) {
      throw new PhotoError('truncated', `animation is truncated and no frame is complete (${msg.split('\n')[0]})`);
    }
    return { ...best, notice: `file is truncated: read the ${lo} complete frames of ${info.frames}` };
  }
}

async function readBounded(path: string, maxBytes: number): Promise<Buffer> {
  const { readFile, stat } = await import('node:fs/promises');
  const s = await stat(path).catch(() => null);
  if (!s?.isFile()) throw new PhotoError('not_found', `${path}: no such file`);
  if (s.size > maxBytes) throw new PhotoError('too_large', `${path}: ${s.size} bytes is over the limit of ${maxBytes} bytes`);
  return readFile(path);
}

/** The model input tensor of frame `i` (the centre crop of its pre-crop pixels, normalised). */
export function frameTensor(anim: DecodedAnimation, i: number, spec: InputSpec): Float32Array {
  const g = cropGeometry(anim.width, anim.height, spec);
  const src = anim.base.pixels[i];
  if (!src) throw new RangeError(`frame ${i} was not read`);
  const size = spec.size;
  const crop = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((g.top + y) * anim.base.width + g.left) * 3;
    crop.set(src.subarray(from, from + size * 3), y * size * 3);
  }
  return toTensor(crop, size * size, spec);
}

/** A WebP thumbnail of frame `i` (longest side `size`, the animation's aspect ratio). */
export async function frameThumbnail(anim: DecodedAnimation, i: number, size: number): Promise<{ webp: Buffer; width: number; height: number }> {
  const src = anim.base.pixels[i];
  if (!src) throw new RangeError(`frame ${i} was not read`);
  const scale = Math.min(1, size / Math.max(anim.width, anim.height));
  const w = Math.max(1, Math.round(anim.width * scale));
  const h = Math.max(1, Math.round(anim.height * scale));
  const out = await sharp(src, { raw: { width: anim.base.width, height: anim.base.height, channels: 3 } })
    .resize(w, h, { fit: 'fill' })
    .webp({ quality: 75, effort: 2 })
    .toBuffer({ resolveWithObject: true });
  return { webp: out.data, width: out.info.width, height: out.info.height };
}

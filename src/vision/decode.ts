// Photo decoding and model preprocessing, ONE path for every caller (classify, ingest, uploads, the HTTP
// classifier): a single sharp decode (EXIF-rotated, shrink-on-load) makes a working copy whose size depends only
// on the photo and the model; the tensor and every thumbnail derive from that copy, so asking for thumbnails
// never changes the prediction. Hostile inputs are refused from the header.
import { open as openFile, stat } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import type { InputSpec, ModelSpec } from './manifest.js';
import { videoKind, videoMessage } from './video.js';

// Every photo is decoded once: libvips' operation cache (50 MB by default) would only hold memory.
sharp.cache(false);

export type PhotoErrorCode =
  | 'not_found'
  | 'empty_file'
  | 'too_large'
  | 'too_many_pixels'
  | 'unsupported_format'
  | 'truncated'
  | 'decode_failed';

/** A photo that cannot be turned into a tensor; `code` is stable, `message` says why in words. */
export class PhotoError extends Error {
  override name = 'PhotoError';
  constructor(
    readonly code: PhotoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Formats decoded (GIF: first frame). */
export const SUPPORTED_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'tiff', 'gif'] as const;
export type PhotoFormat = (typeof SUPPORTED_FORMATS)[number];

/** Default limits: 100 MiB per file, 100 megapixels per image. */
export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface DecodeOptions {
  /** Thumbnails to make from the same decode, by longest side in pixels (e.g. [256, 1024]; at most the working copy). */
  thumbnails?: number[];
  maxBytes?: number;
  maxPixels?: number;
  /** Thumbnail encoding (default JPEG quality 80: see `DEFAULT_THUMBNAIL_ENCODING`). */
  thumbnailEncoding?: ThumbnailEncoding;
  /**
   * Leave out every thumbnail but the smallest when it would be no smaller than the photo itself (the caller
   * serves the original instead): a 500 px photo gets its 256 px thumbnail and no 1024 px copy.
   */
  omitUnreduced?: boolean;
  /**
   * Called with the photo's pixel count (from its header) before any pixel is decoded; the decode waits for
   * it, and calls what it resolves to once the decode is done. A server bounds the decodes in flight this way.
   */
  admit?: (pixels: number) => Promise<() => void>;
  /**
   * Keep the working copy for the face detectors: the result's `detectImage(side)` then makes their input from
   * it (a raw resize) instead of decoding the file again. The copy lives as long as the result does.
   */
  keepForDetection?: boolean;
}

/** Makes the face detectors' input at most `side` px from a decode already made (see `keepForDetection`). */
export type DetectSource = (side: number) => Promise<DetectImage>;

/** The face detectors' input: EXIF-rotated 8-bit RGB, longest side at most the asked side, and its scale. */
export interface DetectImage {
  rgb: Buffer;
  width: number;
  height: number;
  /** Photo pixels (after EXIF orientation) per detector pixel. */
  scale: number;
  fullWidth: number;
  fullHeight: number;
}

/** How thumbnails are encoded; `bench/thumbnails.ts` measures the candidates. */
export interface ThumbnailEncoding {
  format: 'jpeg' | 'webp' | 'avif';
  quality: number;
  /** Encoder effort (WebP 0-6, AVIF 0-9); JPEG ignores it. */
  effort?: number;
}

/**
 * JPEG q80 (libjpeg-turbo through sharp's mozjpeg build, optimised Huffman tables, no trellis): on 1024 px
 * copies of camera photos it encodes 5-7x faster than WebP effort 0-2 at 10-25% more bytes, and AVIF is 20x
 * slower (bench/thumbnails.ts).
 */
export const DEFAULT_THUMBNAIL_ENCODING: ThumbnailEncoding = { format: 'jpeg', quality: 80 };

/** File extension and media type of each thumbnail format. */
export const THUMBNAIL_TYPES = {
  jpeg: { ext: 'jpg', mediaType: 'image/jpeg' },
  webp: { ext: 'webp', mediaType: 'image/webp' },
  avif: { ext: 'avif', mediaType: 'image/avif' },
} as const;

export interface Thumbnail {
  size: number;
  format: ThumbnailEncoding['format'];
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Longest side of the working copy (the largest thumbnail): a photo is decoded once, with JPEG shrink-on-load,
 * to at most this size (but never below what the model's resize needs on the shorter side).
 */
export const WORKING_SIZE = 1024;

export interface DecodedPhoto {
  /** 3 x size x size float32, NCHW, normalised with the model's mean/std. */
  tensor: Float32Array;
  /** Displayed size (after EXIF orientation). */
  width: number;
  height: number;
  /** EXIF orientation flag (1 when absent). */
  orientation: number;
  format: PhotoFormat;
  /** Raw EXIF block, when present. */
  exif?: Buffer;
  thumbnails?: Thumbnail[];
  /** With `keepForDetection`: the face detectors' input, at most `side` px, made from the working copy. */
  detectImage?: DetectSource;
}

type Input = string | Buffer;

function describeInput(input: Input): string {
  return typeof input === 'string' ? input : `buffer of ${input.length} bytes`;
}

/** Maps a sharp/libvips failure to a PhotoError. */
function fromSharpError(err: unknown, input: Input): PhotoError {
  if (err instanceof PhotoError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const where = describeInput(input);
  if (/unsupported image format|bad seek|Input (file|buffer) has corrupt header|not a known file format/i.test(msg)) {
    return new PhotoError('unsupported_format', `${where}: not an image in a supported format (${SUPPORTED_FORMATS.join(', ')})`);
  }
  if (/pixel limit/i.test(msg)) return new PhotoError('too_many_pixels', `${where}: image exceeds the pixel limit`);
  if (/input file is missing|no such file/i.test(msg)) return new PhotoError('not_found', `${where}: no such file`);
  if (/premature end|truncat|unexpected end|end of (file|data|stream)|out of data|short read|read error|IDAT stream error/i.test(msg)) {
    return new PhotoError('truncated', `${where}: file is truncated (${msg.split('\n')[0]})`);
  }
  return new PhotoError('decode_failed', `${where}: cannot decode image (${msg.split('\n')[0]})`);
}

/** Byte-level checks before any decoding: the file exists, is not empty, is not too big. */
async function checkBytes(input: Input, maxBytes: number): Promise<void> {
  let size: number;
  if (typeof input === 'string') {
    try {
      const s = await stat(input);
      if (!s.isFile()) throw new PhotoError('not_found', `${input}: not a regular file`);
      size = s.size;
    } catch (err) {
      if (err instanceof PhotoError) throw err;
      throw new PhotoError('not_found', `${input}: no such file`);
    }
  } else {
    size = input.length;
  }
  if (size === 0) throw new PhotoError('empty_file', `${describeInput(input)}: file is empty (0 bytes)`);
  if (size > maxBytes) throw new PhotoError('too_large', `${describeInput(input)}: ${size} bytes is over the limit of ${maxBytes} bytes`);
}

/** The resize-then-crop geometry of the zoo's preprocessing for an image of w x h. */
export function cropGeometry(w: number, h: number, spec: InputSpec): { width: number; height: number; left: number; top: number } {
  if (spec.crop === 'none') return { width: spec.size, height: spec.size, left: 0, top: 0 };
  const s = spec.resizeShorter;
  // torchvision Resize(int): shorter side = s, longer side = int(s * long / short).
  const width = w <= h ? s : Math.max(s, Math.floor((s * w) / h));
  const height = w <= h ? Math.max(s, Math.floor((s * h) / w)) : s;
  // torchvision CenterCrop: int(round((dim - size) / 2)).
  return { width, height, left: Math.round((width - spec.size) / 2), top: Math.round((height - spec.size) / 2) };
}

/** Interleaved RGB uint8 pixels -> planar float32 in the spec's channel order, (x * scale - mean) / std per plane. */
export function toTensor(rgb: Uint8Array | Buffer, pixels: number, spec: InputSpec, out = new Float32Array(3 * pixels)): Float32Array {
  const luts = [0, 1, 2].map((c) => {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = (v * spec.scale - spec.mean[c]) / spec.std[c];
    return lut;
  });
  const [l0, l1, l2] = luts as [Float32Array, Float32Array, Float32Array];
  // Source byte offset of each plane's channel: RGB keeps the order, BGR reverses it.
  const [o0, o1, o2] = spec.colour === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  for (let i = 0, p = 0; i < pixels; i++, p += 3) {
    out[i] = l0[rgb[p + o0]];
    out[pixels + i] = l1[rgb[p + o1]];
    out[2 * pixels + i] = l2[rgb[p + o2]];
  }
  return out;
}

/**
 * The working copy's size for a displayed w x h photo: longest side WORKING_SIZE, shorter side at least what
 * the model's resize needs, never enlarged. A function of the photo and the model only, so that every caller
 * derives the same tensor from the same copy.
 */
export function workingSize(w: number, h: number, spec: InputSpec): { width: number; height: number } {
  const need = spec.crop === 'center' ? spec.resizeShorter : spec.size;
  const s = Math.max(WORKING_SIZE / Math.max(w, h), need / Math.min(w, h));
  if (s >= 1) return { width: w, height: h };
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}

interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

const rawInput = (img: RawImage) => ({ raw: { width: img.width, height: img.height, channels: 3 as const } });

/**
 * The face detectors' input from the working copy (which is at least WORKING_SIZE px, or the whole photo): fit
 * inside `side`, never enlarged.
 */
async function detectImageFrom(work: RawImage, fullWidth: number, fullHeight: number, side: number): Promise<DetectImage> {
  let img = { data: work.data, width: work.width, height: work.height };
  if (Math.max(work.width, work.height) > side) {
    const { data, info } = await sharp(work.data, rawInput(work)).resize({ width: side, height: side, fit: 'inside' }).raw().toBuffer({ resolveWithObject: true });
    img = { data, width: info.width, height: info.height };
  }
  return { rgb: img.data, width: img.width, height: img.height, scale: fullWidth / img.width, fullWidth, fullHeight };
}

/** The model's tensor from the working copy: resize (bilinear) and crop per the spec, then normalise. */
async function tensorFrom(work: RawImage, spec: InputSpec): Promise<Float32Array> {
  const g = cropGeometry(work.width, work.height, spec);
  const { data, info } = await sharp(work.data, rawInput(work))
    .resize(g.width, g.height, { fit: 'fill', kernel: 'linear' })
    .extract({ left: g.left, top: g.top, width: spec.size, height: spec.size })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== spec.size || info.height !== spec.size) {
    throw new PhotoError('decode_failed', `unexpected decoded layout ${info.width}x${info.height}x${info.channels}`);
  }
  return toTensor(data, spec.size * spec.size, spec);
}

/** One thumbnail from the working copy: itself when it already fits, else reduced (Lanczos) to `size`. */
async function thumbnailFrom(work: RawImage, size: number, enc: ThumbnailEncoding): Promise<Thumbnail> {
  let img = sharp(work.data, rawInput(work));
  if (Math.max(work.width, work.height) > size) img = img.resize(size, size, { fit: 'inside' });
  img =
    enc.format === 'jpeg'
      ? img.jpeg({ quality: enc.quality })
      : enc.format === 'webp'
        ? img.webp({ quality: enc.quality, effort: enc.effort ?? 2 })
        : img.avif({ quality: enc.quality, effort: enc.effort ?? 0 });
  const { data, info } = await img.toBuffer({ resolveWithObject: true });
  return { size, format: enc.format, data, width: info.width, height: info.height };
}

/**
 * Decodes one photo (a path or the file's bytes) into the model's input tensor and, optionally, thumbnails,
 * from a single decode. The tensor is the same whether or not thumbnails are asked for. Throws `PhotoError`.
 */
export async function decodePhoto(input: Input, spec: ModelSpec | InputSpec, opts: DecodeOptions = {}): Promise<DecodedPhoto> {
  const inputSpec: InputSpec = 'input' in spec ? spec.input : spec;
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  await checkBytes(input, opts.maxBytes ?? DEFAULT_MAX_BYTES);

  // Header only: format and dimensions, so bombs are refused before any pixel is decoded.
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    const video = await videoKind(input);
    if (video) throw new PhotoError('unsupported_format', videoMessage(describeInput(input), video));
    throw fromSharpError(err, input);
  }
  const format = photoFormat(meta);
  if (!format) {
    throw new PhotoError('unsupported_format', `${describeInput(input)}: format "${meta.format ?? 'unknown'}" is not supported (${SUPPORTED_FORMATS.join(', ')})`);
  }
  const rawW = meta.width ?? 0;
  const rawH = meta.pageHeight ?? meta.height ?? 0;
  if (rawW <= 0 || rawH <= 0) throw new PhotoError('decode_failed', `${describeInput(input)}: image has no pixels`);
  if (rawW * rawH > maxPixels) {
    throw new PhotoError('too_many_pixels', `${describeInput(input)}: ${rawW}x${rawH} is ${rawW * rawH} pixels, over the limit of ${maxPixels}`);
  }
  const orientation = meta.orientation ?? 1;
  const swap = orientation >= 5 && orientation <= 8;
  const width = swap ? rawH : rawW;
  const height = swap ? rawW : rawH;

  const release = opts.admit ? await opts.admit(rawW * rawH) : undefined;
  try {
    // The one decode: EXIF-rotated, straight to the working size (libjpeg shrink-on-load, then bilinear).
    const target = workingSize(width, height, inputSpec);
    let base = sharp(input, { limitInputPixels: maxPixels, failOn: 'truncated', sequentialRead: true, autoOrient: true });
    if (target.width !== width || target.height !== height) base = base.resize(target.width, target.height, { fit: 'fill', kernel: 'linear' });
    const { data, info } = await base.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new PhotoError('decode_failed', `${describeInput(input)}: unexpected decoded layout ${info.width}x${info.height}x${info.channels}`);
    const work: RawImage = { data, width: info.width, height: info.height };
    const sizes = [...new Set(opts.thumbnails ?? [])]
      .filter((s) => s > 0)
      .sort((a, b) => a - b)
      .filter((s, i) => i === 0 || !opts.omitUnreduced || Math.max(width, height) > s);
    const enc = opts.thumbnailEncoding ?? DEFAULT_THUMBNAIL_ENCODING;
    const [tensor, thumbnails] = await Promise.all([
      tensorFrom(work, inputSpec),
      sizes.length > 0 ? Promise.all(sizes.map((size) => thumbnailFrom(work, size, enc))) : undefined,
    ]);
    const detectImage = opts.keepForDetection ? (side: number) => detectImageFrom(work, width, height, side) : undefined;
    return { tensor, width, height, orientation, format, exif: meta.exif, thumbnails, detectImage };
  } catch (err) {
    const e = fromSharpError(err, input);
    // libvips reports errors through a per-thread buffer and under load the message can be lost
    // ("Unknown error"): a file whose end marker is missing is truncated, whatever the message says.
    if (e.code === 'decode_failed' && (await missingEndMarker(input, format))) {
      throw new PhotoError('truncated', `${describeInput(input)}: file is truncated (no end-of-image marker)`);
    }
    throw e;
  } finally {
    release?.();
  }
}

/** True when a JPEG lacks its EOI marker or a PNG its IEND chunk near the end of the file. */
async function missingEndMarker(input: Input, format: PhotoFormat): Promise<boolean> {
  const marker = format === 'jpeg' ? Buffer.from([0xff, 0xd9]) : format === 'png' ? Buffer.from('IEND', 'latin1') : null;
  if (!marker) return false;
  let tail: Buffer;
  if (typeof input === 'string') {
    const fh = await openFile(input, 'r');
    try {
      const { size } = await fh.stat();
      const n = Math.min(size, 4096);
      tail = Buffer.alloc(n);
      await fh.read(tail, 0, n, size - n);
    } finally {
      await fh.close();
    }
  } else {
    tail = input.subarray(Math.max(0, input.length - 4096));
  }
  return !tail.includes(marker);
}

function photoFormat(meta: Metadata): PhotoFormat | null {
  switch (meta.format) {
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'tiff':
    case 'gif':
      return meta.format;
    case 'heif':
      return meta.compression === 'av1' ? 'avif' : null;
    default:
      return null;
  }
}

// Photo decoding and model preprocessing: ONE sharp decode per photo (EXIF-rotated, shrink-on-load for big
// JPEGs) feeds the model's input tensor and the WebP thumbnails; hostile inputs are refused from the header.
import { open as openFile, stat } from 'node:fs/promises';
import sharp, { type Metadata, type Sharp } from 'sharp';
import type { InputSpec, ModelSpec } from './manifest.js';
import { videoKind, videoMessage } from './video.js';

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
  /** WebP thumbnails to make from the same decode, by longest side in pixels (e.g. [256, 1024]). */
  thumbnails?: number[];
  maxBytes?: number;
  maxPixels?: number;
  /** WebP quality of the thumbnails (default 80). */
  thumbnailQuality?: number;
}

export interface Thumbnail {
  size: number;
  webp: Buffer;
  width: number;
  height: number;
}

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

async function tensorFrom(image: Sharp, w: number, h: number, spec: InputSpec): Promise<Float32Array> {
  const g = cropGeometry(w, h, spec);
  const { data, info } = await image
    .resize(g.width, g.height, { fit: 'fill', kernel: 'linear' })
    .extract({ left: g.left, top: g.top, width: spec.size, height: spec.size })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== spec.size || info.height !== spec.size) {
    throw new PhotoError('decode_failed', `unexpected decoded layout ${info.width}x${info.height}x${info.channels}`);
  }
  return toTensor(data, spec.size * spec.size, spec);
}

/**
 * Decodes one photo (a path or the file's bytes) into the model's input tensor and, optionally, WebP
 * thumbnails, from a single decode. Throws `PhotoError`.
 */
export async function decodePhoto(input: Input, spec: ModelSpec | InputSpec, opts: DecodeOptions = {}): Promise<DecodedPhoto> {
  const inputSpec: InputSpec = 'input' in spec ? spec.input : spec;
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  await checkBytes(input, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const open = (): Sharp => sharp(input, { limitInputPixels: maxPixels, failOn: 'truncated', sequentialRead: true });

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

  try {
    const sizes = [...new Set(opts.thumbnails ?? [])].filter((s) => s > 0).sort((a, b) => a - b);
    let tensor: Float32Array;
    let thumbnails: Thumbnail[] | undefined;
    if (sizes.length === 0) {
      tensor = await tensorFrom(open().autoOrient(), width, height, inputSpec);
    } else {
      // Decode once, to the smallest size that still serves every output (shrink-on-load when it is
      // much smaller than the original), then derive the tensor and each thumbnail from those pixels.
      const longest = sizes[sizes.length - 1];
      const s = Math.max(longest / Math.max(width, height), inputSpec.resizeShorter / Math.min(width, height));
      let base = open().autoOrient();
      if (s < 0.5) base = base.resize(Math.round(width * s), Math.round(height * s), { fit: 'fill', kernel: 'linear' });
      const { data, info } = await base.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      const raw = { raw: { width: info.width, height: info.height, channels: info.channels as 3 } };
      [tensor, thumbnails] = await Promise.all([
        tensorFrom(sharp(data, raw), info.width, info.height, inputSpec),
        Promise.all(
          sizes.map(async (size) => {
            const t = await sharp(data, raw)
              .resize(size, size, { fit: 'inside', withoutEnlargement: true })
              .webp({ quality: opts.thumbnailQuality ?? 80, effort: 2 })
              .toBuffer({ resolveWithObject: true });
            return { size, webp: t.data, width: t.info.width, height: t.info.height };
          }),
        ),
      ]);
    }
    return { tensor, width, height, orientation, format, exif: meta.exif, thumbnails };
  } catch (err) {
    const e = fromSharpError(err, input);
    // libvips reports errors through a per-thread buffer and under load the message can be lost
    // ("Unknown error"): a file whose end marker is missing is truncated, whatever the message says.
    if (e.code === 'decode_failed' && (await missingEndMarker(input, format))) {
      throw new PhotoError('truncated', `${describeInput(input)}: file is truncated (no end-of-image marker)`);
    }
    throw e;
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

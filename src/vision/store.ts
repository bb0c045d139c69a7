// The model store: finds a model file in the cache, the configured mirrors or its canonical URL, verifies
// its sha256, and keeps verified copies in `$PICTOGRAPH_HOME/models` (written atomically).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { modelsDir } from '../config/paths.js';
import { MODELS, modelSpec, type ModelSpec } from './manifest.js';

export interface ResolvedModel {
  spec: ModelSpec;
  /** Path of the verified `.onnx` file in the cache. */
  path: string;
  /** The file's sha256 (the manifest's, or the measured one for an allowed unverified model). */
  sha256: string;
}

export interface FetchProgress {
  model: string;
  source: string;
  received: number;
  /** Total bytes when known. */
  total: number | null;
}

export interface StoreOptions {
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: FetchProgress) => void;
  /** Accept models whose manifest entry has no sha256 (the measured sha256 becomes their identity). */
  allowUnverified?: boolean;
  /** Seconds without any received byte before a download is abandoned (default 30). */
  stallTimeoutS?: number;
}

export type ModelStoreErrorCode = 'unknown_model' | 'unavailable' | 'unverified' | 'checksum_mismatch' | 'no_match';

export class ModelStoreError extends Error {
  override name = 'ModelStoreError';
  constructor(
    readonly code: ModelStoreErrorCode,
    message: string,
    /** Every place looked, with what was found there. */
    readonly attempts: string[] = [],
  ) {
    super(message);
  }
}

/** One place a model may be found. */
interface Source {
  /** What to say about it in messages. */
  label: string;
  kind: 'file' | 'url';
  location: string;
  archive: boolean;
}

const ZOO_PREFIX = 'https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main';

/** The mirrors listed in `PICTOGRAPH_MODEL_MIRROR` (comma-separated folders or base URLs). */
export function mirrors(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PICTOGRAPH_MODEL_MIRROR ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
}

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/** Canonical URLs, with `PICTOGRAPH_MODEL_SOURCE_BASE` (if set) replacing the ONNX Model Zoo prefix. */
function canonical(url: string, env: NodeJS.ProcessEnv): string {
  const base = env.PICTOGRAPH_MODEL_SOURCE_BASE?.trim();
  return base && url.startsWith(ZOO_PREFIX) ? base.replace(/\/+$/, '') + url.slice(ZOO_PREFIX.length) : url;
}

function sources(spec: ModelSpec, env: NodeJS.ProcessEnv): Source[] {
  const out: Source[] = [];
  const archiveName = spec.archive ? basename(new URL(spec.archive.url).pathname) : null;
  for (const m of mirrors(env)) {
    if (isUrl(m)) {
      const base = m.replace(/\/+$/, '');
      out.push({ label: `mirror ${base}/${spec.file}`, kind: 'url', location: `${base}/${spec.file}`, archive: false });
      if (archiveName) out.push({ label: `mirror ${base}/${archiveName}`, kind: 'url', location: `${base}/${archiveName}`, archive: true });
    } else {
      const dir = resolve(m.replace(/^file:\/\//, ''));
      out.push({ label: `mirror ${join(dir, spec.file)}`, kind: 'file', location: join(dir, spec.file), archive: false });
      if (archiveName) out.push({ label: `mirror ${join(dir, archiveName)}`, kind: 'file', location: join(dir, archiveName), archive: true });
    }
  }
  for (const u of spec.urls) out.push({ label: canonical(u, env), kind: 'url', location: canonical(u, env), archive: false });
  if (spec.archive) {
    const u = canonical(spec.archive.url, env);
    out.push({ label: u, kind: 'url', location: u, archive: true });
  }
  return out;
}

/** sha256 (hex) and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

const exists = async (p: string): Promise<boolean> => stat(p).then((s) => s.isFile(), () => false);

function fixHint(spec: ModelSpec): string {
  return (
    `Fix: set PICTOGRAPH_MODEL_MIRROR=/path/to/folder (a folder or base URL holding ${spec.file}` +
    (spec.archive ? ` or ${basename(spec.archive.url)}` : '') +
    `), or download ${spec.urls[0] ?? spec.file} yourself and run \`pictograph models import FILE\`.`
  );
}

function checksumError(spec: ModelSpec, where: string, got: string, size: number): string {
  return `checksum mismatch for ${where}: sha256 ${got} (${size} bytes), expected ${spec.sha256} (${spec.size ?? '?'} bytes) — truncated or corrupted`;
}

/** Writes `source` (a file or URL) to `dest`, hashing as it goes. Returns sha256 and size. */
async function copyHashed(
  source: Source,
  dest: string,
  spec: ModelSpec,
  opts: StoreOptions,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let received = 0;
  let total: number | null = null;
  let input: Readable;
  let stall: NodeJS.Timeout | undefined;
  const controller = new AbortController();
  if (source.kind === 'file') {
    total = (await stat(source.location)).size;
    input = createReadStream(source.location);
  } else {
    const stallMs = (opts.stallTimeoutS ?? 30) * 1000;
    stall = setTimeout(() => controller.abort(new Error(`no data for ${stallMs / 1000} s`)), stallMs);
    const res = await fetch(source.location, { signal: controller.signal, redirect: 'follow' }).catch((err: unknown) => {
      clearTimeout(stall);
      throw err;
    });
    if (!res.ok || !res.body) {
      clearTimeout(stall);
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status} ${res.statusText}`);
    }
    const len = Number(res.headers.get('content-length'));
    total = Number.isFinite(len) && len > 0 ? len : null;
    input = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      received += chunk.length;
      if (stall) stall.refresh();
      opts.onProgress?.({ model: spec.id, source: source.label, received, total });
      done(null, chunk);
    },
  });
  try {
    await pipeline(input, meter, createWriteStream(dest));
  } finally {
    if (stall) clearTimeout(stall);
  }
  if (total !== null && received !== total) throw new Error(`truncated: got ${received} of ${total} bytes`);
  return { sha256: hash.digest('hex'), size: received };
}

function expectedOk(spec: ModelSpec, sha256: string, opts: StoreOptions): boolean {
  if (spec.sha256) return sha256 === spec.sha256;
  return opts.allowUnverified === true;
}

function unverifiedError(spec: ModelSpec): ModelStoreError {
  return new ModelStoreError(
    'unverified',
    `model "${spec.id}" has no published checksum in the manifest, so its file cannot be verified; ` +
      `pass --allow-unverified (allowUnverified) to use it anyway.`,
  );
}

/** Places the verified temporary file `tmp` at the cache path atomically. */
async function install(tmp: string, spec: ModelSpec, env: NodeJS.ProcessEnv): Promise<string> {
  const dest = join(modelsDir(env), spec.file);
  await rename(tmp, dest);
  return dest;
}

/** Fetches one source into the cache; throws with a reason when it is missing or wrong. */
async function fetchFrom(source: Source, spec: ModelSpec, opts: StoreOptions, env: NodeJS.ProcessEnv): Promise<ResolvedModel> {
  const dir = modelsDir(env);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${spec.file}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  try {
    if (source.kind === 'file' && !(await exists(source.location))) throw new Error('not there');
    if (!source.archive) {
      const got = await copyHashed(source, tmp, spec, opts);
      if (!expectedOk(spec, got.sha256, opts)) throw new Error(checksumError(spec, source.label, got.sha256, got.size));
      return { spec, path: await install(tmp, spec, env), sha256: got.sha256 };
    }
    // A zoo archive: verify it when its checksum is known, extract the member, verify the model.
    const archive = spec.archive!;
    const got = await copyHashed(source, tmp, spec, opts);
    if (archive.sha256 && got.sha256 !== archive.sha256) {
      throw new Error(`archive checksum mismatch: sha256 ${got.sha256}, expected ${archive.sha256} — truncated or corrupted`);
    }
    const out = await mkdtemp(join(dir, '.extract-'));
    try {
      await tar.x({ file: tmp, cwd: out, strict: true }, [archive.member]);
      const member = join(out, archive.member);
      if (!(await exists(member))) throw new Error(`archive has no member ${archive.member}`);
      const m = await hashFile(member);
      if (!expectedOk(spec, m.sha256, opts)) throw new Error(checksumError(spec, `${source.label} (${archive.member})`, m.sha256, m.size));
      await rm(tmp, { force: true });
      await rename(member, tmp);
      return { spec, path: await install(tmp, spec, env), sha256: m.sha256 };
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

const NETWORK_WORDS: Record<string, string> = {
  ENOTFOUND: 'no network or unknown host',
  EAI_AGAIN: 'no network (DNS lookup failed)',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
};

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (!(cause instanceof Error)) return err.message;
  const code = (cause as NodeJS.ErrnoException).code;
  const words = code ? NETWORK_WORDS[code] : undefined;
  return `${err.message}: ${words ? `${words} (${code})` : (code ?? cause.message)}`;
}

/**
 * A verified local copy of model `id`: from the cache, else each `PICTOGRAPH_MODEL_MIRROR` entry (a folder
 * or base URL holding the `.onnx` or the zoo `.tar.gz`), else the canonical URL(s). A corrupted cache copy
 * is replaced. Throws `ModelStoreError` naming every place looked and how to fix it.
 */
export async function resolveModel(id: string, opts: StoreOptions = {}): Promise<ResolvedModel> {
  const env = opts.env ?? process.env;
  let spec: ModelSpec;
  try {
    spec = modelSpec(id);
  } catch (err) {
    throw new ModelStoreError('unknown_model', (err as Error).message);
  }
  if (!spec.sha256 && !opts.allowUnverified) throw unverifiedError(spec);
  const attempts: string[] = [];
  const cached = join(modelsDir(env), spec.file);
  if (await exists(cached)) {
    const got = await hashFile(cached);
    if (expectedOk(spec, got.sha256, opts)) return { spec, path: cached, sha256: got.sha256 };
    attempts.push(`cache ${cached}: ${checksumError(spec, 'cached copy', got.sha256, got.size)}; replacing it`);
  } else {
    attempts.push(`cache ${cached}: not there`);
  }
  for (const source of sources(spec, env)) {
    try {
      return await fetchFrom(source, spec, opts, env);
    } catch (err) {
      attempts.push(`${source.label}: ${describe(err)}`);
    }
  }
  throw new ModelStoreError(
    'unavailable',
    `model "${spec.id}" (${spec.file}) could not be found or verified. Looked in:\n` +
      attempts.map((a) => `  - ${a}`).join('\n') +
      `\n${fixHint(spec)}`,
    attempts,
  );
}

export type CacheStatus = 'ok' | 'missing' | 'corrupt' | 'unverified';

export interface ModelStatus {
  id: string;
  file: string;
  path: string;
  status: CacheStatus;
  /** Measured sha256 of the cached file, when present. */
  sha256?: string;
  size?: number;
  detail?: string;
}

/** Checks every cached model file against the manifest (nothing is fetched). */
export async function verifyModels(opts: { env?: NodeJS.ProcessEnv } = {}): Promise<ModelStatus[]> {
  const env = opts.env ?? process.env;
  const out: ModelStatus[] = [];
  for (const spec of MODELS) {
    const path = join(modelsDir(env), spec.file);
    if (!(await exists(path))) {
      out.push({ id: spec.id, file: spec.file, path, status: 'missing' });
      continue;
    }
    const got = await hashFile(path);
    const status: CacheStatus = !spec.sha256 ? 'unverified' : got.sha256 === spec.sha256 ? 'ok' : 'corrupt';
    out.push({
      id: spec.id,
      file: spec.file,
      path,
      status,
      sha256: got.sha256,
      size: got.size,
      detail: status === 'corrupt' ? checksumError(spec, path, got.sha256, got.size) : undefined,
    });
  }
  return out;
}

/** The manifest with each model's cache state (cheap: no hashing). */
export async function listModels(opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Array<{ spec: ModelSpec; cached: boolean; path: string }>> {
  const env = opts.env ?? process.env;
  return Promise.all(
    MODELS.map(async (spec) => {
      const path = join(modelsDir(env), spec.file);
      return { spec, cached: await exists(path), path };
    }),
  );
}

/**
 * Copies a local model file into the cache after verifying it against the manifest: the entry whose
 * sha256 matches, or (with `id` and `allowUnverified`) the named entry that has no published checksum.
 */
export async function importModel(
  file: string,
  opts: { env?: NodeJS.ProcessEnv; id?: string; allowUnverified?: boolean } = {},
): Promise<ResolvedModel> {
  const env = opts.env ?? process.env;
  const path = resolve(file);
  if (!(await exists(path))) throw new ModelStoreError('unavailable', `cannot import ${path}: no such file`);
  const got = await hashFile(path);
  let spec = MODELS.find((m) => m.sha256 === got.sha256);
  if (opts.id) {
    const named = modelSpec(opts.id);
    if (spec && spec.id !== named.id) {
      throw new ModelStoreError('no_match', `${path} is model "${spec.id}", not "${named.id}"`);
    }
    if (!spec) {
      if (named.sha256) throw new ModelStoreError('checksum_mismatch', `cannot import ${path}: ${checksumError(named, path, got.sha256, got.size)}`);
      if (!opts.allowUnverified) throw unverifiedError(named);
      spec = named;
    }
  }
  if (!spec) {
    throw new ModelStoreError(
      'no_match',
      `cannot import ${path}: its sha256 ${got.sha256} (${got.size} bytes) matches no known model ` +
        `(${MODELS.map((m) => m.id).join(', ')}); it may be truncated or a different file. ` +
        `For a model without a published checksum pass --id ID --allow-unverified.`,
    );
  }
  return fetchFrom({ label: path, kind: 'file', location: path, archive: false }, spec, { ...opts, allowUnverified: true }, env).then((r) => ({
    ...r,
    sha256: got.sha256,
  }));
}

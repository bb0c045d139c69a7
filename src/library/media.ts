// The media folder's file lifecycle: thumbnails and uploaded originals are first written as *staged* files
// (`<final name>.<pid>-<run>.<random>.tmp`), the photo referencing the final name is committed, and only then is
// the staged file renamed into place. A failure before the commit removes the staged file; a crash leaves a
// staged file of a dead process, which the next start (server, ingest) or `doctor` resolves: moved into place
// when a stored photo references its final name, removed otherwise. `doctor` also finds media files no photo
// references (orphans) and photos whose files are missing.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { LibraryDb } from './db.js';

/** This process's run: staged files of the same pid but another run are left-overs (pid reuse in containers). */
const RUN = randomBytes(3).toString('hex');

/** Subfolders of the media folder that Pictograph manages. */
export const MEDIA_SUBDIRS = ['thumbs', 'originals', 'tmp'] as const;

/** A file being written: its temporary path and the final path it becomes once its photo is committed. */
export interface Staged {
  tmp: string;
  target: string;
}

const STAGED = /^(.+)\.(\d+)(?:-([0-9a-f]{6}))?\.([0-9a-f]{4,})\.tmp$/;
/** Temporary files of earlier versions (`.tmp-<hex>` originals). */
const LEGACY_TMP = /(^|\/)\.tmp-[0-9a-f]+$/;

/** The staged (temporary) name for `target`, unique to this process and call. */
export function stagedPath(target: string): string {
  return `${target}.${process.pid}-${RUN}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Writes `data` to a staged file for `target` (folders created as needed: only when the write finds none, so the
 * usual write into an existing folder costs no mkdir).
 */
export async function stageFile(target: string, data: Buffer, opts: { blocking?: boolean } = {}): Promise<Staged> {
  const tmp = stagedPath(target);
  const write = async (): Promise<void> => (opts.blocking ? writeFileSync(tmp, data) : writeFile(tmp, data));
  try {
    try {
      await write();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (opts.blocking) mkdirSync(dirname(target), { recursive: true });
      else await mkdir(dirname(target), { recursive: true });
      await write();
    }
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { tmp, target };
}

/** Moves a staged file into place (after its photo is committed). Identical content may already be there. */
export async function promote(staged: Staged, opts: { blocking?: boolean } = {}): Promise<void> {
  if (opts.blocking) renameSync(staged.tmp, staged.target);
  else await rename(staged.tmp, staged.target);
}

/** Removes a staged file that will not be committed (never throws). */
export async function discard(staged: Staged | string | undefined): Promise<void> {
  if (!staged) return;
  await rm(typeof staged === 'string' ? staged : staged.tmp, { force: true }).catch(() => undefined);
}

/** What a temporary file name says about its writer, or undefined for an ordinary file. */
export function parseTemporary(path: string): { target: string | null; pid: number | null; run: string | null } | undefined {
  const m = STAGED.exec(path);
  if (m) return { target: m[1]!, pid: Number(m[2]), run: m[3] ?? null };
  if (LEGACY_TMP.test(path)) return { target: null, pid: null, run: null };
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a temporary file's writer is still at work (this run, or another live process). */
export function writerAlive(t: { pid: number | null; run: string | null }): boolean {
  if (t.pid === null) return false;
  if (t.pid === process.pid) return t.run === RUN;
  return processAlive(t.pid);
}

/** Staged files older than this are left-overs whatever their pid says (a pid reused by another process). */
const STALE_AFTER_MS = 24 * 3600 * 1000;

/** Whether a temporary file is a left-over: its writer is gone, or it is older than any write takes. */
async function isLeftOver(file: string, t: { pid: number | null; run: string | null }): Promise<boolean> {
  if (!writerAlive(t)) return true;
  const s = await stat(file).catch(() => undefined);
  return s !== undefined && s.mtimeMs < Date.now() - STALE_AFTER_MS;
}

/** Every file under the managed media subfolders, as absolute paths. */
async function mediaFiles(media: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of MEDIA_SUBDIRS) {
    const root = join(media, sub);
    const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.isFile() || e.isSymbolicLink()) out.push(join(e.parentPath, e.name));
    }
  }
  return out.sort();
}

/** Absolute paths of every media file a stored photo references (thumbnails; originals inside the media folder). */
export async function referencedMedia(db: LibraryDb, media: string): Promise<Set<string>> {
  const root = resolve(media);
  const refs = new Set<string>();
  for (let after = 0; ; ) {
    const rows = await db
      .selectFrom('photos')
      .select(['id', 'thumb_small', 'thumb_large', 'original_path'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(5000)
      .execute();
    for (const r of rows) for (const f of photoMedia(root, r)) refs.add(f);
    if (rows.length < 5000) break;
    after = rows[rows.length - 1]!.id;
  }
  // Animations' keyframe thumbnails, named in their timelines.
  for (const t of await db.selectFrom('timelines').select('keyframes').execute()) for (const f of keyframeMedia(root, t.keyframes)) refs.add(f);
  return refs;
}

/** A photo row's media files: its thumbnails, and its original when it lies inside the media folder (an upload). */
function photoMedia(root: string, r: { thumb_small: string | null; thumb_large: string | null; original_path: string }): string[] {
  const files = [r.thumb_small, r.thumb_large].filter((t): t is string => t !== null).map((t) => resolve(root, t));
  const original = resolve(r.original_path);
  return original.startsWith(root + sep) ? [...files, original] : files;
}

/** An animation's keyframe thumbnails, named in its timeline's JSON keyframes. */
function keyframeMedia(root: string, keyframes: string): string[] {
  return (JSON.parse(keyframes) as Array<{ thumb?: string | null }>).flatMap((k) => (k.thumb ? [resolve(root, k.thumb)] : []));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export interface SweepResult {
  /** Temporary files of dead writers removed. */
  removed: number;
  /** Temporary files of dead writers moved into place because a committed photo references them. */
  completed: number;
}

/**
 * Resolves the temporary files of writers that are gone (a crash between write and commit, or between commit
 * and rename): moved into place when a stored photo references the final name and it is missing, removed
 * otherwise. Live writers' files (another process's ingest) are left alone. Runs at server and ingest start.
 */
export async function sweepMedia(db: LibraryDb, media: string): Promise<SweepResult> {
  const result: SweepResult = { removed: 0, completed: 0 };
  const stale: Array<{ file: string; target: string | null }> = [];
  for (const file of await mediaFiles(media)) {
    const t = parseTemporary(file);
    if (t && (await isLeftOver(file, t))) stale.push({ file, target: t.target });
  }
  if (stale.length === 0) return result;
  const refs = await referencedMedia(db, media);
  for (const s of stale) {
    if (s.target && refs.has(resolve(s.target)) && !(await exists(s.target))) {
      await rename(s.file, s.target);
      result.completed++;
    } else {
      await rm(s.file, { force: true });
      result.removed++;
    }
  }
  return result;
}

/**
 * Removes the left-over temporary files of one folder whose writers are gone (no photo can reference them: a
 * server's received classification bodies). For processes without a library, such as a model server.
 */
export async function sweepTemporaryFolder(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const file = join(dir, name);
    const t = parseTemporary(file);
    if (t && (await isLeftOver(file, t))) {
      await rm(file, { force: true });
      removed++;
    }
  }
  return removed;
}

export interface DoctorReport {
  /** Media files no stored photo references (relative to the media folder). */
  orphans: string[];
  /** Temporary files of writers that are gone (relative). */
  staleTemporary: string[];
  /** Temporary files whose writer is still running (left alone). */
  liveTemporary: string[];
  /** Photo ids whose referenced thumbnail or original file is missing, with the missing names. */
  missing: Array<{ photo: number; file: string }>;
  /** Whether orphans and stale temporary files were removed. */
  fixed: boolean;
  /** Bytes the orphans and stale temporary files take (or took). */
  bytes: number;
}

/**
 * Checks the media folder against the library: orphans (files nothing references), temporary files, and
 * photos whose files are missing. With `fix`, stale temporary files are swept first (completing committed
 * ones), then orphans are removed.
 */
export async function mediaDoctor(db: LibraryDb, media: string, opts: { fix?: boolean } = {}): Promise<DoctorReport> {
  const root = resolve(media);
  if (opts.fix) await sweepMedia(db, root);
  // Files first, references second: a file renamed into place after this listing is not in it, and one in it
  // got its final name after its photo was committed, so a running server's or ingest's work is never an orphan.
  const files = await mediaFiles(root);
  const refs = await referencedMedia(db, root);
  const report: DoctorReport = { orphans: [], staleTemporary: [], liveTemporary: [], missing: [], fixed: opts.fix === true, bytes: 0 };
  for (const file of files) {
    const rel = relative(root, file);
    const t = parseTemporary(file);
    if (t) {
      if (!(await isLeftOver(file, t))) {
        report.liveTemporary.push(rel);
        continue;
      }
      report.staleTemporary.push(rel);
    } else if (refs.has(file)) {
      continue;
    } else {
      report.orphans.push(rel);
    }
    report.bytes += await stat(file).then(
      (s) => s.size,
      () => 0,
    );
    if (opts.fix) await rm(file, { force: true });
  }
  const rows = await db.selectFrom('photos').select(['id', 'thumb_small', 'thumb_large', 'original_path']).orderBy('id').execute();
  for (const r of rows) {
    for (const name of [r.thumb_small, r.thumb_large]) {
      if (name && !(await exists(resolve(root, name)))) report.missing.push({ photo: r.id, file: name });
    }
    const original = resolve(r.original_path);
    if (original.startsWith(root + sep) && !(await exists(original))) report.missing.push({ photo: r.id, file: relative(root, original) });
  }
  if (opts.fix) await removeEmptyFolders(root);
  return report;
}

/** Removes empty folders left under the managed subfolders (after orphans are gone). */
async function removeEmptyFolders(root: string): Promise<void> {
  for (const sub of MEDIA_SUBDIRS) {
    const dirs = await readdir(join(root, sub), { recursive: true, withFileTypes: true }).catch(() => []);
    const paths = dirs.filter((d) => d.isDirectory()).map((d) => join(d.parentPath, d.name));
    paths.sort((a, b) => b.length - a.length);
    for (const d of paths) {
      if ((await readdir(d).catch(() => ['x'])).length === 0) await rmdir(d).catch(() => undefined);
    }
  }
}

/** Absolute paths of the media files one stored photo references (thumbnails, keyframes, an upload's original). */
export async function mediaOfPhoto(db: LibraryDb, media: string, photoId: number): Promise<{ contentHash: string; files: string[] } | undefined> {
  const root = resolve(media);
  const row = await db.selectFrom('photos').select(['content_hash', 'thumb_small', 'thumb_large', 'original_path']).where('id', '=', photoId).executeTakeFirst();
  if (!row) return undefined;
  const timeline = await db.selectFrom('timelines').select('keyframes').where('photo_id', '=', photoId).executeTakeFirst();
  return { contentHash: row.content_hash, files: [...photoMedia(root, row), ...(timeline ? keyframeMedia(root, timeline.keyframes) : [])] };
}

/**
 * Removes a deleted photo's media files unless another stored photo of the same content still uses them (media
 * are content-addressed, and two owners may hold the same file). Called after the delete committed: a crash in
 * between leaves orphans that `doctor` removes, never a photo without its files. Returns the files removed.
 */
export async function removeUnsharedMedia(db: LibraryDb, media: { contentHash: string; files: string[] }): Promise<number> {
  const shared = await db.selectFrom('photos').select('id').where('content_hash', '=', media.contentHash).limit(1).executeTakeFirst();
  if (shared) return 0;
  let removed = 0;
  for (const f of media.files) {
    if (await exists(f)) {
      await rm(f, { force: true });
      removed++;
    }
  }
  return removed;
}

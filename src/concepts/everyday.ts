// The everyday vocabulary (data/everyday-concepts.json) and its training set: the shared real photos tagged by
// hand (manifest `tags`) plus ImageNet photos whose class maps to concepts through the WordNet hierarchy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectDataFile } from '../config/paths.js';
import type { Hierarchy } from '../taxonomy/hierarchy.js';

export interface EverydayConceptDef {
  id: string;
  name: string;
  wnid: string;
  /** The consumer category (the photos manifest's `subject`) the concept belongs to. */
  subject: string;
  imagenet: { positive: string[]; except?: string[]; negatives: boolean };
}

export function readEverydayVocabulary(path = projectDataFile('everyday-concepts.json')): EverydayConceptDef[] {
  return readEverydayFile(path).concepts;
}

/** The consumer categories (subjects), in the order that decides a hand-tagged photo's subject (see `subjectOfTags`). */
export function readEverydaySubjects(path = projectDataFile('everyday-concepts.json')): string[] {
  return readEverydayFile(path).subjects;
}

function readEverydayFile(path: string): { subjects: string[]; concepts: EverydayConceptDef[] } {
  const file = JSON.parse(readFileSync(path, 'utf8')) as { subjects: string[]; concepts: EverydayConceptDef[] };
  const ids = new Set<string>();
  for (const c of file.concepts) {
    if (!/^[a-z][a-z-]*$/.test(c.id) || ids.has(c.id)) throw new Error(`${path}: bad or repeated concept id ${JSON.stringify(c.id)}`);
    if (!file.subjects.includes(c.subject)) throw new Error(`${path}: concept ${c.id} has subject ${JSON.stringify(c.subject)}, not one of "subjects"`);
    ids.add(c.id);
  }
  return file;
}

/**
 * The subject of a photo tagged by hand (photos-train, ImageNet classes through the hierarchy), which has no
 * subject column: the first subject, in `subjects` order, that one of its positive tags belongs to; null when
 * none (on ../shared/data/photos this rule gives the manifest's subject for 298 of 323 photos).
 */
export function subjectOfTags(subjects: readonly string[], concepts: readonly EverydayConceptDef[], positive: (j: number) => boolean): string | null {
  let best = -1;
  concepts.forEach((c, j) => {
    if (!positive(j)) return;
    const at = subjects.indexOf(c.subject);
    if (at >= 0 && (best < 0 || at < best)) best = at;
  });
  return best >= 0 ? subjects[best] : null;
}

/** Which labelled set an example comes from. */
export type ExampleSource = 'photos' | 'photos-train' | 'imagenet-calib';

/** Examples with per-concept truth: y = 1/0 where known = 1; unknown (known = 0) labels are not trained on. */
export interface LabelledSet {
  concepts: EverydayConceptDef[];
  files: string[];
  source: ExampleSource[];
  /** The manifest's subject column (photos only), for category agreement. */
  subject: Array<string | null>;
  /** The subjects (consumer categories) a subject head chooses among, and each example's (index, -1 unknown). */
  subjects: string[];
  subjectIndex: Int32Array;
  /** n x k, row-major. */
  y: Float32Array;
  known: Uint8Array;
}

interface RawExample {
  file: string;
  source: ExampleSource;
  subject: string | null;
  /** Tags (photos) or an ImageNet wnid. */
  tags?: string[];
  wnid?: string;
}

function readManifest(dir: string, source: ExampleSource): RawExample[] {
  const lines = readFileSync(join(dir, 'manifest.tsv'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = lines[0].split('\t');
  const fileCol = header.indexOf('file');
  const tagsCol = header.indexOf('tags');
  const subjectCol = header.indexOf('subject');
  if (fileCol < 0 || tagsCol < 0) throw new Error(`${dir}/manifest.tsv: needs 'file' and 'tags' columns`);
  return lines.slice(1).map((l) => {
    const cols = l.split('\t');
    const tags = (cols[tagsCol] ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
    return { file: join(dir, 'images', cols[fileCol]), source, subject: subjectCol >= 0 ? cols[subjectCol] : null, tags };
  });
}

function readImagenetLabels(dir: string): RawExample[] {
  const lines = readFileSync(join(dir, 'labels.tsv'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.slice(1).map((l) => {
    const [file, wnid] = l.split('\t');
    return { file: join(dir, 'images', file), source: 'imagenet-calib' as const, subject: null, wnid };
  });
}

/**
 * The everyday training set from a shared data folder (`../shared/data`): `photos/`, `photos-train/` (when
 * present) and `imagenet-calib/`. Unknown manifest tags are an error (a typo would silently be a negative).
 */
export function everydayLabelledSet(dataDir: string, hierarchy: Hierarchy, concepts = readEverydayVocabulary(), subjects = readEverydaySubjects()): LabelledSet {
  const raw: RawExample[] = [];
  raw.push(...readManifest(join(dataDir, 'photos'), 'photos'));
  try {
    raw.push(...readManifest(join(dataDir, 'photos-train'), 'photos-train'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  raw.push(...readImagenetLabels(join(dataDir, 'imagenet-calib')));
  const k = concepts.length;
  const index = new Map(concepts.map((c, j) => [c.id, j]));
  const y = new Float32Array(raw.length * k);
  const known = new Uint8Array(raw.length * k);
  const under = (label: number, wnids: string[] | undefined): boolean =>
    (wnids ?? []).some((w) => {
      const node = hierarchy.node(w);
      return node !== undefined && hierarchy.isUnder(label, node);
    });
  raw.forEach((ex, i) => {
    if (ex.tags) {
      for (const t of ex.tags) if (!index.has(t)) throw new Error(`${ex.file}: unknown tag ${JSON.stringify(t)}`);
      for (let j = 0; j < k; j++) {
        known[i * k + j] = 1;
        y[i * k + j] = ex.tags.includes(concepts[j].id) ? 1 : 0;
      }
      return;
    }
    const label = hierarchy.labelSet.wnids.indexOf(ex.wnid!);
    if (label < 0) throw new Error(`${ex.file}: ${ex.wnid} is not a class of ${hierarchy.labelSet.id}`);
    concepts.forEach((c, j) => {
      const positive = under(label, c.imagenet.positive) && !under(label, c.imagenet.except);
      if (positive || c.imagenet.negatives) {
        known[i * k + j] = 1;
        y[i * k + j] = positive ? 1 : 0;
      }
    });
  });
  const subjectIndex = Int32Array.from(raw, (ex, i) => {
    const s = ex.subject ?? subjectOfTags(subjects, concepts, (j) => known[i * k + j] === 1 && y[i * k + j] > 0.5);
    return s === null ? -1 : subjects.indexOf(s);
  });
  return { concepts, files: raw.map((r) => r.file), source: raw.map((r) => r.source), subject: raw.map((r) => r.subject), subjects, subjectIndex, y, known };
}

const logit = (p: number): number => Math.log(Math.max(1e-7, p) / Math.max(1e-7, 1 - p));

/**
 * The photo's best consumer category from its concept scores: the subject of the concept scoring furthest above
 * (or least below) its threshold, in log-odds.
 */
export function bestSubject(concepts: ReadonlyArray<{ subject: string; threshold: number }>, scores: ArrayLike<number>): string {
  let best = 0;
  let margin = -Infinity;
  concepts.forEach((c, j) => {
    const m = logit(scores[j]) - logit(c.threshold);
    if (m > margin) {
      margin = m;
      best = j;
    }
  });
  return concepts[best].subject;
}

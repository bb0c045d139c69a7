// `concepts train-everyday`: embeds the shared labelled photos (cached), cross-validates the everyday head on the
// real photos, chooses each concept's threshold on out-of-fold scores, then fits the shipped head on everything.
import { join } from 'node:path';
import { projectDataFile, projectRoot } from '../config/paths.js';
import { loadHierarchy } from '../taxonomy/load.js';
import type { Engine } from '../vision/engine.js';
import { embedFilesCached } from './embedding-cache.js';
import { bestSubject, everydayLabelledSet, readEverydayVocabulary, type ExampleSource } from './everyday.js';
import { Head, type HeadConcept } from './head.js';
import type { Quality } from './metrics.js';
import { crossValidate, DEFAULT_SETTINGS, fit, microHeldOut, reportCrossValidation, type TrainSettings } from './train.js';

export const EVERYDAY_HEAD_DIR = projectDataFile('heads');

/** Where the shipped everyday head of a model lives. */
export function everydayHeadPath(modelId: string, dir = EVERYDAY_HEAD_DIR): string {
  return join(dir, `everyday-${modelId}.json`);
}

/** `../shared/data` beside the project (or `$PICTOGRAPH_SHARED_DATA`). */
export function defaultSharedData(env: NodeJS.ProcessEnv = process.env): string {
  return env.PICTOGRAPH_SHARED_DATA ?? join(projectRoot, '..', 'shared', 'data');
}

export interface EverydayReport {
  settings: TrainSettings;
  examples: Record<ExampleSource, number>;
  /** Micro-averaged held-out quality on `photos` (nested thresholds) and on every real photo. */
  micro: { photos: Quality; real: Quality };
  concepts: Array<{ id: string; threshold: number; photos: Quality & { positives: number }; real: Quality & { positives: number } }>;
  /** Share of `photos` whose best concept's subject is the manifest's subject (out-of-fold scores, shipped thresholds). */
  subjectAgreement: { agree: number; photos: number; rate: number; bySubject: Record<string, { agree: number; photos: number }> };
  /** Mean validation loss curve over the folds. */
  curve: { step: number[]; train: number[]; validation: number[] };
  seconds: { embed: number; crossValidation: number; fit: number };
}

export async function trainEveryday(opts: {
  dataDir: string;
  engine: Engine;
  env?: NodeJS.ProcessEnv;
  settings?: Partial<TrainSettings>;
  onProgress?: (message: string) => void;
}): Promise<{ head: Head; report: EverydayReport }> {
  const settings = { ...DEFAULT_SETTINGS, ...opts.settings };
  const say = opts.onProgress ?? (() => {});
  const hierarchy = await loadHierarchy('imagenet-1k', { env: opts.env });
  const concepts = readEverydayVocabulary();
  const set = everydayLabelledSet(opts.dataDir, hierarchy, concepts);
  const t0 = Date.now();
  say(`embedding ${set.files.length} photos (cached after the first run)`);
  const embedded = await embedFilesCached(set.files, opts.engine, {
    env: opts.env,
    onProgress: (d, n) => d % 100 === 0 && say(`  ${d}/${n}`),
  });
  const t1 = Date.now();
  const ex = { embeddings: embedded.map((e) => e.embedding), y: set.y, known: set.known, k: concepts.length };
  const realRows = set.source.map((s, i) => (s === 'imagenet-calib' ? -1 : i)).filter((i) => i >= 0);
  say(`cross-validating (${settings.folds} folds over ${realRows.length} real photos)`);
  const cv = crossValidate(ex, settings, realRows);
  const onPhotos = reportCrossValidation(ex, cv, settings.folds, (r) => set.source[r] === 'photos');
  const onReal = reportCrossValidation(ex, cv, settings.folds);
  const t2 = Date.now();
  say('fitting the head on every example');
  const final = fit(ex, settings);
  const t3 = Date.now();
  const withThresholds = concepts.map((c, j) => ({ subject: c.subject, threshold: onReal[j].threshold }));
  const bySubject: Record<string, { agree: number; photos: number }> = {};
  let agree = 0;
  let counted = 0;
  cv.rows.forEach((r, i) => {
    const truth = set.subject[r];
    if (set.source[r] !== 'photos' || !truth) return;
    const got = bestSubject(withThresholds, cv.scores.subarray(i * concepts.length, (i + 1) * concepts.length));
    const b = (bySubject[truth] ??= { agree: 0, photos: 0 });
    b.photos++;
    counted++;
    if (got === truth) {
      b.agree++;
      agree++;
    }
  });
  const headConcepts: HeadConcept[] = concepts.map((c, j) => ({
    id: c.id,
    name: c.name,
    wnid: c.wnid,
    threshold: round(onReal[j].threshold),
    validation: { ...roundQ(onReal[j].heldOut), positives: onReal[j].positives, examples: onReal[j].examples },
  }));
  const examples = { photos: 0, 'photos-train': 0, 'imagenet-calib': 0 };
  for (const s of set.source) examples[s]++;
  const curve = meanCurve(cv.curves);
  const report: EverydayReport = {
    settings,
    examples,
    micro: { photos: roundQ(microHeldOut(onPhotos)), real: roundQ(microHeldOut(onReal)) },
    concepts: concepts.map((c, j) => ({
      id: c.id,
      threshold: round(onReal[j].threshold),
      photos: { ...roundQ(onPhotos[j].heldOut), positives: onPhotos[j].positives },
      real: { ...roundQ(onReal[j].heldOut), positives: onReal[j].positives },
    })),
    subjectAgreement: { agree, photos: counted, rate: round(counted > 0 ? agree / counted : 0), bySubject },
    curve,
    seconds: { embed: (t1 - t0) / 1000, crossValidation: (t2 - t1) / 1000, fit: (t3 - t2) / 1000 },
  };
  const training = {
    by: 'pictograph concepts train-everyday',
    ...settings,
    examples,
    features: 'embedding - mean, L2-normalised',
    model: 'balanced logistic regression, L2, Nesterov gradient descent from zero',
    thresholds: 'max F1 on out-of-fold scores of the real photos',
    heldOutMicro: report.micro,
  };
  const head = new Head('everyday', { id: opts.engine.model.id, sha256: opts.engine.model.sha256 }, headConcepts, final.mean, final.linear, training);
  return { head, report };
}

function meanCurve(curves: Array<{ step: number[]; train: number[]; validation: number[] }>): EverydayReport['curve'] {
  if (curves.length === 0) return { step: [], train: [], validation: [] };
  const avg = (key: 'train' | 'validation') => curves[0].step.map((_, i) => round(curves.reduce((a, c) => a + (c[key][i] ?? 0), 0) / curves.length));
  return { step: curves[0].step, train: avg('train'), validation: avg('validation') };
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;
function roundQ<T extends Quality>(q: T): T {
  return { ...q, precision: round(q.precision), recall: round(q.recall), f1: round(q.f1) };
}

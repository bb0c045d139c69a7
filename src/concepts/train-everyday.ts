// `concepts train-everyday`: embeds the shared labelled photos (cached), cross-validates the everyday head on the
// real photos, chooses each concept's threshold on out-of-fold scores, then fits the shipped head on everything.
import { join } from 'node:path';
import { projectDataFile, projectRoot } from '../config/paths.js';
import { loadHierarchy } from '../taxonomy/load.js';
import type { Engine } from '../vision/engine.js';
import { analyzePrediction, loadTaxonomy } from '../taxonomy/analysis.js';
import { animalScoreOf, decidePeople, wantsTurn, type PeopleTagId } from '../taxonomy/people.js';
import type { FaceDetector } from '../vision/faces/detector.js';
import { embedFilesCached } from './embedding-cache.js';
import { bestSubject, everydayLabelledSet, readEverydayVocabulary, type ExampleSource } from './everyday.js';
import { detectFilesCached, embedAugmentedCached, type Augmentation, type CachedDetection } from './evidence-cache.js';
import { Head, type HeadConcept } from './head.js';
import type { Quality } from './metrics.js';
import { chooseSubject } from './subject.js';
import { crossValidate, DEFAULT_SETTINGS, fit, microHeldOut, reportCrossValidation, thresholdPrior, type Decided, type TrainSettings } from './train.js';

export interface EverydaySettings extends TrainSettings {
  /** Weight factor of the real photos (photos, photos-train) over ImageNet photos. */
  realWeight: number;
  /** Augmented copies trained on (embedded through the engine, cached). */
  augment: Augmentation[];
}

/** The shipped settings (src/concepts/README.md has the variants measured). */
export const EVERYDAY_SETTINGS: EverydaySettings = {
  ...DEFAULT_SETTINGS,
  thresholds: 'global',
  realWeight: 3,
  augment: ['flip'],
  subjectIterations: 300,
  memory: { k: 20, temperature: 0.05, blend: 0.35 },
};

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
  settings: EverydaySettings;
  examples: Record<ExampleSource | 'feedback', number>;
  /** Micro-averaged held-out quality on `photos` (nested thresholds) and on every real photo: the tags the product
   * outputs (person/group/portrait from detection when it ran), and the head's own. */
  micro: { photos: Quality; real: Quality; headOnly: { photos: Quality; real: Quality } };
  concepts: Array<{ id: string; threshold: number; photos: Quality & { positives: number }; real: Quality & { positives: number } }>;
  /** Share of `photos` whose chosen subject is the manifest's (out-of-fold scores, shipped thresholds): the product's
   * choice (subject head + concept margins + detection), and the old best-concept rule for comparison. */
  subjectAgreement: Agreement & { bestConcept: Agreement; headOnly: Agreement };
  /** Whether face/person detection decided person/group/portrait in the evaluation. */
  detection: boolean;
  /** Mean validation loss curve over the folds. */
  curve: { step: number[]; train: number[]; validation: number[] };
  seconds: { embed: number; crossValidation: number; fit: number };
}

interface Agreement {
  agree: number;
  photos: number;
  rate: number;
  bySubject: Record<string, { agree: number; photos: number }>;
}

const PEOPLE_TAGS: readonly PeopleTagId[] = ['person', 'group', 'portrait'];

export async function trainEveryday(opts: {
  dataDir: string;
  engine: Engine;
  /** Face/person detection (cached per photo): decides person/group/portrait in the evaluation, as in the product. */
  detector?: FaceDetector;
  env?: NodeJS.ProcessEnv;
  settings?: Partial<EverydaySettings>;
  onProgress?: (message: string) => void;
  /** More examples for one concept each (people's "was this right?" answers): always trained on, never held out. */
  extra?: Array<{ embedding: Float32Array; concept: string; correct: boolean }>;
}): Promise<{ head: Head; report: EverydayReport }> {
  const settings = { ...EVERYDAY_SETTINGS, ...opts.settings };
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
  const augmented: Float32Array[][] = [];
  for (const how of settings.augment) {
    say(`embedding ${how} copies (cached after the first run)`);
    augmented.push(await embedAugmentedCached(set.files, how, opts.engine, { env: opts.env }));
  }
  const realRows = set.source.map((s, i) => (s === 'imagenet-calib' ? -1 : i)).filter((i) => i >= 0);
  // Detections of the real photos; people are decided once the out-of-fold scores give each photo its person cue.
  let detections: CachedDetection[] | undefined;
  const animal = new Map<number, number>();
  if (opts.detector) {
    say(`detecting faces and people in ${realRows.length} real photos (cached after the first run)`);
    detections = await detectFilesCached(realRows.map((r) => set.files[r]), opts.detector, { env: opts.env });
    const taxonomy = await loadTaxonomy({ modelId: opts.engine.model.id, env: opts.env });
    for (const r of realRows) {
      const e = embedded[r];
      animal.set(r, animalScoreOf(analyzePrediction({ model: opts.engine.model, probs: e.probs, embedding: e.embedding }, { ...taxonomy, top: 5 })));
    }
  }
  const t1 = Date.now();
  const extra = (opts.extra ?? []).filter((e) => e.embedding.length === embedded[0]?.embedding.length);
  const n = set.files.length;
  const k0 = concepts.length;
  const y = new Float32Array((n + extra.length) * k0);
  const known = new Uint8Array((n + extra.length) * k0);
  y.set(set.y);
  known.set(set.known);
  extra.forEach((e, i) => {
    const j = concepts.findIndex((c) => c.id === e.concept);
    if (j < 0) return;
    known[(n + i) * k0 + j] = 1;
    y[(n + i) * k0 + j] = e.correct ? 1 : 0;
  });
  const ex = {
    embeddings: [...embedded.map((e) => e.embedding), ...extra.map((e) => e.embedding)],
    y,
    known,
    k: k0,
    weight: Float32Array.from({ length: n + extra.length }, (_, i) => (i < n && set.source[i] === 'imagenet-calib' ? 1 : settings.realWeight)),
    augmented: augmented.map((copies) => [...copies, ...extra.map((e) => e.embedding)]),
    subject: Int32Array.from({ length: n + extra.length }, (_, i) => (i < n ? set.subjectIndex[i] : -1)),
    subjects: set.subjects.length,
  };
  say(`cross-validating (${settings.folds} folds over ${realRows.length} real photos)`);
  const cv = crossValidate(ex, settings, realRows);
  const prior = thresholdPrior(settings);
  const isPhoto = (r: number): boolean => set.source[r] === 'photos';
  const headOnReal = reportCrossValidation(ex, cv, settings.folds, undefined, prior);
  // The logistic head's own thresholds (without the memory's vote): the people cues are its scores over them.
  const logisticOnReal = cv.logistic === cv.scores ? headOnReal : reportCrossValidation(ex, { ...cv, scores: cv.logistic }, settings.folds, undefined, prior);
  // People decided by detection, as `classify` and ingest output them (rows of real photos only): a photo's turned
  // look counts where its out-of-fold person cue (score over threshold) reaches the turn rule, as in the product.
  const people = new Map<number, Set<string>>();
  const personColumn = concepts.findIndex((c) => c.id === 'person');
  cv.rows.forEach((r, i) => {
    const d = detections?.[i];
    if (!d) return;
    const cue = personColumn < 0 ? null : cv.logistic[i * ex.k + personColumn] / Math.max(1e-6, logisticOnReal[personColumn].threshold);
    const seen = d.turned && wantsTurn(d.faces, { animalScore: animal.get(r) ?? 0, personCue: cue, groupCue: null, portraitCue: null }) ? d.turned : d;
    people.set(r, new Set(decidePeople({ ...seen, animalScore: animal.get(r) ?? 0 }).tags.map((t) => t.id)));
  });
  const peopleColumns = new Set(PEOPLE_TAGS.map((id) => concepts.findIndex((c) => c.id === id)));
  const decided: Decided = (row, j) => (peopleColumns.has(j) ? people.get(row)?.has(concepts[j].id) : undefined);
  const onPhotos = reportCrossValidation(ex, cv, settings.folds, isPhoto, prior, decided);
  const onReal = reportCrossValidation(ex, cv, settings.folds, undefined, prior, decided);
  const headOnPhotos = reportCrossValidation(ex, cv, settings.folds, isPhoto, prior);
  const t2 = Date.now();
  say('fitting the head on every example');
  const final = fit(ex, settings);
  const t3 = Date.now();
  const withThresholds = concepts.map((c, j) => ({ subject: c.subject, threshold: onReal[j].threshold }));
  const k = concepts.length;
  const s = set.subjects.length;
  const agreement = (choose: (i: number, r: number) => string): Agreement => {
    const bySubject: Record<string, { agree: number; photos: number }> = {};
    let agree = 0;
    let counted = 0;
    cv.rows.forEach((r, i) => {
      const truth = set.subject[r];
      if (!isPhoto(r) || !truth) return;
      const b = (bySubject[truth] ??= { agree: 0, photos: 0 });
      b.photos++;
      counted++;
      if (choose(i, r) === truth) {
        b.agree++;
        agree++;
      }
    });
    return { agree, photos: counted, rate: round(counted > 0 ? agree / counted : 0), bySubject };
  };
  const scoresOf = (i: number): Float32Array => cv.scores.subarray(i * k, (i + 1) * k);
  const subjectsOf = (i: number): Float32Array => cv.subjects!.subarray(i * s, (i + 1) * s);
  const product = agreement((i, r) => chooseSubject(set.subjects, subjectsOf(i), withThresholds, scoresOf(i), opts.detector ? (people.get(r)?.has('person') ?? false) : undefined).id);
  const subjectAgreement = {
    ...product,
    headOnly: agreement((i) => chooseSubject(set.subjects, subjectsOf(i), [], scoresOf(i)).id),
    bestConcept: agreement((i) => bestSubject(withThresholds, scoresOf(i))),
  };
  const headConcepts: HeadConcept[] = concepts.map((c, j) => ({
    id: c.id,
    name: c.name,
    wnid: c.wnid,
    subject: c.subject,
    threshold: round(onReal[j].threshold),
    ...(logisticOnReal !== headOnReal ? { cueThreshold: round(logisticOnReal[j].threshold) } : {}),
    validation: { ...roundQ(onReal[j].heldOut), positives: onReal[j].positives, examples: onReal[j].examples },
  }));
  const examples = { photos: 0, 'photos-train': 0, 'imagenet-calib': 0, feedback: extra.length };
  for (const s of set.source) examples[s]++;
  const curve = meanCurve(cv.curves);
  const report: EverydayReport = {
    settings,
    examples,
    micro: {
      photos: roundQ(microHeldOut(onPhotos)),
      real: roundQ(microHeldOut(onReal)),
      headOnly: { photos: roundQ(microHeldOut(headOnPhotos)), real: roundQ(microHeldOut(headOnReal)) },
    },
    concepts: concepts.map((c, j) => ({
      id: c.id,
      threshold: round(onReal[j].threshold),
      photos: { ...roundQ(onPhotos[j].heldOut), positives: onPhotos[j].positives },
      real: { ...roundQ(onReal[j].heldOut), positives: onReal[j].positives },
    })),
    subjectAgreement,
    detection: opts.detector !== undefined,
    curve,
    seconds: { embed: (t1 - t0) / 1000, crossValidation: (t2 - t1) / 1000, fit: (t3 - t2) / 1000 },
  };
  const training = {
    by: 'pictograph concepts train-everyday',
    ...settings,
    examples,
    features: 'embedding - mean, L2-normalised',
    model: `balanced logistic regression, L2, Nesterov gradient descent from zero${settings.memory ? ', blended with an example memory (k nearest by cosine, softmax-weighted)' : ''}; subject: class-balanced softmax regression`,
    thresholdRule: settings.thresholds === 'global' ? 'one global threshold, max micro F1 on out-of-fold scores of the real photos' : 'per concept, shrunk toward the global one',
    heldOutMicro: report.micro,
    subjectAgreement: report.subjectAgreement.rate,
  };
  const subjects = final.subject ? { ids: set.subjects, linear: final.subject } : undefined;
  const head = new Head('everyday', { id: opts.engine.model.id, sha256: opts.engine.model.sha256 }, headConcepts, final.mean, final.linear, training, subjects, final.memory);
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

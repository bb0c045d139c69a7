// `pictograph classify <files|dirs...>`: top-k ImageNet labels, hedged label, path and categories per photo, as a table or JSON lines.
import type { Command } from 'commander';
import type { CategoryScore, HedgedLabel, Label, ModelRef, PhotoAnalysis } from '../library/analysis.js';
import { analyzePrediction, hedgedPath, loadTaxonomy, type Taxonomy } from '../taxonomy/analysis.js';
import { Engine, type ExecutionProvider, type Prediction } from '../vision/engine.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import { FaceDetector, type FaceDetection } from '../vision/faces/detector.js';
import { animalScoreOf, decidePeople, withPeople, withPeopleTags, type PeopleTag } from '../taxonomy/people.js';
import { classifyFiles, expandInputs, type ClassifyItem } from '../vision/pipeline.js';
import { analyzeAnimation, animationInfo, type Timeline } from '../library/animation.js';
import { downloadProgress } from './models.js';
import type { Head } from '../concepts/head.js';
import { loadEverydayHead, photoSubject, tagEmbedding } from '../concepts/tags.js';
import { shownLabel, type ShownLabel } from '../concepts/label.js';
import { ownerHeads } from '../library/concepts.js';
import { openSession } from '../library/session.js';
import { findOwnerId } from '../library/store.js';
import { peopleQuestions } from '../library/face-stage.js';

/** One photo's classification as printed by `classify --json` (the one place its shape is built). */
export interface ClassificationRecord {
  file: string;
  model: ModelRef;
  labels: Label[];
  /** The most specific synset meeting the calibrated accuracy target (null without a calibration). */
  hedged: HedgedLabel | null;
  /** What to show people: the hedged synset, or "not sure" with guesses when hedging climbed to a vague root. */
  label: ShownLabel;
  /** The hedged synset's hypernym chain up to `entity`. */
  path: Array<{ wnid: string; name: string }>;
  categories: CategoryScore[];
  /** Everyday concepts (and `--owner`'s custom ones) at or above their calibrated threshold, best first; person,
   * group and portrait come from face/person detection when it ran. */
  tags: Array<{ id: string; name: string; score: number }>;
  /** The photo's consumer category (people, animals, landscapes & nature...) from the everyday subject head. */
  subject?: { id: string; score: number };
  /** With `--all-scores`: every concept's score and threshold. */
  allScores?: Array<{ id: string; name: string; score: number; threshold: number }>;
  /** Animations only: the concept timeline; `labels`, `hedged` and `categories` are then the whole animation's, weighted by time on screen. */
  timeline?: Timeline;
  /** Human faces found (absent with --no-faces): box [x, y, w, h] in original pixels after EXIF orientation. */
  faces?: Array<{ box: [number, number, number, number]; score: number }>;
  /** person / group / portrait, decided from the faces and person bodies found. */
  people?: { count: number; tags: PeopleTag[] };
}

export interface ClassificationFailure {
  file: string;
  error: { code: string; message: string };
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * `labels` are the model's raw top-k (the label policy is not applied to them, so the model can be judged);
 * `hedged`, `path` and `categories` come from the taxonomy, with the label policy applied.
 */
export function classificationRecord(
  file: string,
  prediction: Prediction,
  engine: Engine,
  top: number,
  taxonomy: Taxonomy,
  heads: readonly Head[] = [],
  opts: {
    allScores?: boolean;
    /** The prediction's analysis when the caller already made it. */
    analysis?: PhotoAnalysis;
    detection?: FaceDetection;
  } = {},
): ClassificationRecord {
  const { detection } = opts;
  let analysis = opts.analysis ?? analyzePrediction(prediction, { ...taxonomy, top });
  const people = detection ? decidePeople({ ...detection, animalScore: animalScoreOf(analysis) }) : undefined;
  if (people) analysis = withPeople(analysis, people, taxonomy.hierarchy);
  const hedged = analysis.hedged ? { ...analysis.hedged, score: round(analysis.hedged.score) } : null;
  const headTags = tagEmbedding(heads, prediction.embedding, prediction.model).map(({ id, name, score }) => ({ id, name, score }));
  const tags = people ? withPeopleTags(headTags, people) : headTags;
  const subject = photoSubject(
    heads.find((h) => h.kind === 'everyday'),
    prediction.embedding,
    prediction.model,
    people ? people.person > 0 : undefined,
  );
  return {
    file,
    model: { id: prediction.model.id, sha256: prediction.model.sha256 },
    labels: engine.topK(prediction.probs, top).map((l) => ({ ...l, score: round(l.score) })),
    hedged,
    label: shownLabel(taxonomy.categories, hedged, tags, analysis.labels),
    path: hedged ? hedgedPath(taxonomy.hierarchy, hedged.wnid, taxonomy.policy) : [],
    categories: analysis.categories.map((c) => ({ ...c, score: round(c.score) })),
    tags,
    ...(subject ? { subject } : {}),
    ...(opts.allScores
      ? { allScores: tagEmbedding(heads, prediction.embedding, prediction.model, { all: true }).map(({ id, name, score, threshold }) => ({ id, name, score, threshold })) }
      : {}),
    ...(people
      ? {
          faces: people.faces.map((f) => ({ box: f.box, score: round((f.boxScore + f.meshScore) / 2) })),
          people: { count: people.count, tags: people.tags },
        }
      : {}),
  };
}

export function failureRecord(item: Extract<ClassifyItem, { error: unknown }>): ClassificationFailure {
  return { file: item.file, error: { code: item.error.code, message: item.error.message } };
}

/** An animation's record: the whole animation's labels (weighted by time on screen) and its timeline. */
async function animationRecord(
  file: string,
  engine: Engine,
  top: number,
  taxonomy: Taxonomy,
  heads: readonly Head[] = [],
  opts: { allScores?: boolean } = {},
): Promise<ClassificationRecord | ClassificationFailure> {
  try {
    const a = await analyzeAnimation(file, { spec: engine.model.spec.input, run: (t) => engine.run(t), analyze: { ...taxonomy, top } });
    const model = { id: engine.model.id, sha256: engine.model.sha256 };
    const timeline: Timeline = {
      ...a.timeline,
      segments: a.timeline.segments.map((s) => ({
        ...s,
        labels: s.labels.map((l) => ({ ...l, score: round(l.score) })),
        hedged: s.hedged ? { ...s.hedged, score: round(s.hedged.score) } : null,
      })),
    };
    return { ...classificationRecord(file, { model, probs: a.probs, embedding: a.analysis.embedding }, engine, top, taxonomy, heads, opts), timeline };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { file, error: { code: typeof code === 'string' ? code : 'decode_failed', message: err instanceof Error ? err.message : String(err) } };
  }
}

function tableRow(r: ClassificationRecord | ClassificationFailure, fileWidth: number): string {
  const file = r.file.length > fileWidth ? '…' + r.file.slice(r.file.length - fileWidth + 1) : r.file.padEnd(fileWidth);
  if ('error' in r) return `${file}  ERROR ${r.error.code}: ${r.error.message}`;
  const hedged = r.label.sure ? `[${r.label.text}]  ` : `[not sure: ${r.label.guesses.join('? ')}?]  `;
  const tags = r.tags.length > 0 ? `{${r.tags.map((t) => t.id).join(', ')}}  ` : '';
  const people = r.people && r.people.tags.length > 0 ? `{${r.people.tags.map((t) => t.id).join(', ')}: ${r.faces?.length ?? 0} faces}  ` : '';
  const row = `${file}  ${tags}${people}${hedged}${r.labels.map((l) => `${l.name} ${(l.score * 100).toFixed(1)}%`).join(', ')}`;
  if (!r.timeline) return row;
  const t = r.timeline;
  const scenes = t.segments.map((s) => `  ${(s.start_ms / 1000).toFixed(2)}-${(s.end_ms / 1000).toFixed(2)} s  ${s.hedged ? `[${s.hedged.name}] ` : ''}${s.labels[0]?.name ?? ''}`);
  return [row, ...scenes, ...(t.notice ? [`  (${t.notice})`] : [])].join('\n');
}

interface ClassifyCliOptions {
  model: string;
  top: string;
  target: string;
  json?: boolean;
  threads?: string;
  provider: string;
  allowUnverified?: boolean;
  allScores?: boolean;
  owner?: string;
  faces?: boolean;
}

export function register(program: Command): void {
  program
    .command('classify')
    .description('classify photos (files or folders, recursively) with an ImageNet model')
    .argument('<paths...>', 'image files or folders')
    .option('-m, --model <id>', 'model id (see `pictograph models list`)', DEFAULT_MODEL_ID)
    .option('-k, --top <k>', 'how many labels per photo', '5')
    .option('-t, --target <accuracy>', 'accuracy target of the hedged label (a calibrated one)', '0.9')
    .option('--json', 'one JSON object per line per photo')
    .option('--threads <n>', 'inference threads (default: every core)')
    .option('--provider <list>', 'execution providers in order, comma-separated (cpu, cuda)', 'cpu')
    .option('--allow-unverified', 'use a model whose manifest entry has no checksum')
    .option('--owner <name>', "also tag with this owner's custom concepts (ids OWNER/NAME)")
    .option('--all-scores', 'with --json: every concept with its score and threshold (`allScores`)')
    .option('--no-faces', 'do not detect faces and people')
    .action(async (paths: string[], o: ClassifyCliOptions) => {
      const top = Number(o.top);
      if (!Number.isInteger(top) || top < 1 || top > 1000) throw new Error(`--top must be an integer from 1 to 1000, got ${o.top}`);
      const target = Number(o.target);
      if (!(target > 0 && target < 1)) throw new Error(`--target must be a number between 0 and 1, got ${o.target}`);
      const progress = downloadProgress();
      const engine = await Engine.load({
        modelId: o.model,
        threads: o.threads ? Number(o.threads) : undefined,
        executionProviders: o.provider.split(',').map((p) => p.trim()) as ExecutionProvider[],
        allowUnverified: o.allowUnverified,
        onProgress: progress.update,
      }).finally(progress.stop);
      const taxonomy = await loadTaxonomy({ modelId: engine.model.id, target });
      if (!taxonomy.calibration) {
        console.error(`pictograph: no calibration for ${engine.model.id} at target ${target}; "hedged" is null (run \`pictograph calibrate\`)`);
      }
      const everyday = await loadEverydayHead(engine.model);
      if (!everyday) console.error(`pictograph: no everyday head for ${engine.model.id}; "tags" is empty (run \`pictograph concepts train-everyday\`)`);
      const heads = everyday ? [everyday] : [];
      if (o.owner !== undefined) {
        const session = await openSession();
        try {
          if ((await findOwnerId(session.lib.db, o.owner)) === undefined) throw new Error(`no owner named ${o.owner}`);
          heads.push(...(await ownerHeads(session.lib.db, o.owner, engine.model)));
        } catch (err) {
          await engine.close();
          throw err;
        } finally {
          await session.close();
        }
      }
      const files = await expandInputs(paths);
      if (files.length === 0) throw new Error(`no images found in ${paths.join(', ')}`);
      const fileWidth = Math.min(60, Math.max(...files.map((f) => f.length)));
      let failed = 0;
      // Detection of a photo starts once its analysis is known (stage two, person bodies, depends on it) and runs on
      // its own worker while the next photos are classified; records print in order, at most WINDOW photos behind.
      const detector = o.faces === false ? undefined : await FaceDetector.load();
      const WINDOW = 4;
      const pending: Array<Promise<ClassificationRecord | ClassificationFailure>> = [];
      const print = (record: ClassificationRecord | ClassificationFailure) => {
        if ('error' in record) failed++;
        console.log(o.json ? JSON.stringify(record) : tableRow(record, fileWidth));
      };
      if (!o.json) console.log(`${'FILE'.padEnd(fileWidth)}  LABELS (${engine.model.id})`);
      for await (const item of classifyFiles(files, { engine })) {
        let record: Promise<ClassificationRecord | ClassificationFailure>;
        if ('error' in item) record = Promise.resolve(failureRecord(item));
        else if (await animationInfo(item.file)) record = animationRecord(item.file, engine, top, taxonomy, heads, { allScores: o.allScores });
        else {
          const { file, prediction } = item;
          const analysis = analyzePrediction(prediction, { ...taxonomy, top });
          const detection = detector?.detect(file, peopleQuestions(Promise.resolve(analysis))).catch(() => undefined);
          record = (async () => classificationRecord(file, prediction, engine, top, taxonomy, heads, { allScores: o.allScores, analysis, detection: await detection }))();
        }
        pending.push(record);
        if (pending.length >= WINDOW) print(await pending.shift()!);
      }
      for (const record of pending) print(await record);
      await engine.close();
      await detector?.close();
      if (!o.json) console.error(`${files.length - failed} classified, ${failed} failed`);
      if (failed > 0) process.exitCode = 1;
    });
}

// `pictograph concepts ...`: train the shipped everyday head; teach, list, show and delete an owner's concepts.
import type { Command } from 'commander';
import { writeHead } from '../concepts/head.js';
import { defaultSharedData, EVERYDAY_SETTINGS, everydayHeadPath, trainEveryday, type EverydayReport } from '../concepts/train-everyday.js';
import { AUGMENTATIONS, type Augmentation } from '../concepts/evidence-cache.js';
import { FaceDetector } from '../vision/faces/detector.js';
import { Engine } from '../vision/engine.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import { downloadProgress } from './models.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TrainingCurve } from '../concepts/logistic.js';
import { deleteConcept, everydayFeedback, listConcepts, ownerEmbeddings, recordConceptFeedback, retrainConcept, showConcept, teachConcept, type ConceptDetail } from '../library/concepts.js';
import { loadEverydayHead, retrainedEverydayHeadPath } from '../concepts/tags.js';
import { LibraryError } from '../library/errors.js';
import { openSession } from '../library/session.js';
import { findOwnerId } from '../library/store.js';
import { loadWordNet } from '../taxonomy/wordnet-store.js';
import { classifyFiles, expandInputs } from '../vision/pipeline.js';

/**
 * Embeddings of example files: a file whose content the owner already stored reuses the stored embedding (no
 * decode); the others are decoded and run through the model. Any file that is not a readable image is an error
 * naming every such file (nothing is trained or stored).
 */
async function exampleEmbeddings(
  files: string[],
  stored: Map<string, Float32Array>,
  engine: () => Promise<Engine>,
): Promise<Array<{ embedding: Float32Array; hash: string }>> {
  const out: Array<{ embedding: Float32Array; hash: string } | undefined> = [];
  const toRun: Array<{ file: string; at: number; hash: string }> = [];
  const bad: string[] = [];
  for (const [i, file] of files.entries()) {
    const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      bad.push(`${file}: ${err.code === 'ENOENT' ? 'not found' : err.message}`);
      return null;
    });
    if (!bytes) continue;
    const hash = createHash('sha256').update(bytes).digest('hex');
    const known = stored.get(hash);
    if (known) out[i] = { embedding: known, hash };
    else toRun.push({ file, at: i, hash });
  }
  if (toRun.length > 0 && bad.length === 0) {
    let n = 0;
    for await (const item of classifyFiles(toRun.map((t) => t.file), { engine: await engine() })) {
      const t = toRun[n++];
      if ('error' in item) bad.push(`${t.file}: ${item.error.code}: ${item.error.message}`);
      else out[t.at] = { embedding: item.prediction.embedding, hash: t.hash };
    }
  }
  if (bad.length > 0) throw new LibraryError('bad_request', `not usable as examples (nothing was trained):\n  ${bad.join('\n  ')}`);
  return out.filter((e): e is { embedding: Float32Array; hash: string } => e !== undefined);
}

function curveLine(c: TrainingCurve): string {
  return c.step.map((s, i) => `${s}: ${c.train[i].toFixed(3)}/${(c.validation[i] ?? NaN).toFixed(3)}`).join('  ');
}

function printConcept(c: ConceptDetail): void {
  const v = c.report.validation;
  console.log(`${c.id}  threshold ${c.threshold.toFixed(3)}  ${c.positives} positives, ${c.negatives} negatives  tagged photos: ${c.photos}`);
  console.log(`validation (${v.examples} held out): precision ${v.precision.toFixed(2)}, recall ${v.recall.toFixed(2)}, F1 ${v.f1.toFixed(2)}`);
  console.log(`loss (train/validation): ${curveLine(c.report.curve)}`);
  for (const d of c.report.diagnosis) console.log(`diagnosis: ${d}`);
}

function printEverydayReport(r: EverydayReport): void {
  const pct = (x: number) => (x * 100).toFixed(0).padStart(4);
  console.log(`examples: ${r.examples.photos} photos, ${r.examples['photos-train']} photos-train, ${r.examples['imagenet-calib']} imagenet-calib`);
  console.log(`held-out (${r.settings.folds}-fold CV, thresholds chosen on the other folds):`);
  console.log('CONCEPT        THRESH   P(photos)  R    F1  n   |  F1(all real)  n');
  for (const c of r.concepts) {
    console.log(
      `${c.id.padEnd(14)} ${c.threshold.toFixed(3)}  ${pct(c.photos.precision)} ${pct(c.photos.recall)} ${pct(c.photos.f1)} ${String(c.photos.positives).padStart(3)}   |  ${pct(c.real.f1)}  ${String(c.real.positives).padStart(3)}`,
    );
  }
  const by = r.detection ? 'tags as output (person/group/portrait from detection)' : 'tags of the head (no detection)';
  console.log(`micro F1, ${by}: photos ${r.micro.photos.f1.toFixed(3)} (P ${r.micro.photos.precision.toFixed(3)}, R ${r.micro.photos.recall.toFixed(3)}), all real ${r.micro.real.f1.toFixed(3)}`);
  console.log(`micro F1, head alone: photos ${r.micro.headOnly.photos.f1.toFixed(3)}, all real ${r.micro.headOnly.real.f1.toFixed(3)}`);
  const agreement = (label: string, a: EverydayReport['subjectAgreement']['headOnly']) =>
    console.log(`${label} = manifest subject: ${a.agree}/${a.photos} (${(a.rate * 100).toFixed(1)}%): ${Object.entries(a.bySubject).map(([s, b]) => `${s} ${b.agree}/${b.photos}`).join(', ')}`);
  agreement('consumer category (subject head + concepts' + (r.detection ? ' + detection)' : ')'), r.subjectAgreement);
  agreement('subject head alone', r.subjectAgreement.headOnly);
  agreement("best concept's subject (old rule)", r.subjectAgreement.bestConcept);
  const c = r.curve;
  if (c.step.length > 0) console.log(`loss curve (train / validation): ${c.step.map((s, i) => `${s}: ${c.train[i].toFixed(3)}/${c.validation[i].toFixed(3)}`).filter((_, i) => i % 3 === 0 || i === c.step.length - 1).join('  ')}`);
}

export function register(program: Command): void {
  const concepts = program.command('concepts').description('everyday and custom concepts: heads trained on the model embedding');

  concepts
    .command('train-everyday')
    .description('reproduce the shipped everyday head: embed the shared labelled photos, cross-validate, choose thresholds, fit')
    .option('--data <dir>', 'shared data folder (photos/, photos-train/, imagenet-calib/)', defaultSharedData())
    .option('-m, --model <id>', 'model id', DEFAULT_MODEL_ID)
    .option('--out <file>', 'head file to write (default: data/heads/everyday-<model>.json in the project)')
    .option('--l2 <x>', 'L2 penalty', String(EVERYDAY_SETTINGS.l2))
    .option('--iterations <n>', 'gradient steps', String(EVERYDAY_SETTINGS.iterations))
    .option('--folds <k>', 'cross-validation folds', String(EVERYDAY_SETTINGS.folds))
    .option('--seed <n>', 'fold assignment seed', String(EVERYDAY_SETTINGS.seed))
    .option('--real-weight <x>', 'weight of real photos over ImageNet ones', String(EVERYDAY_SETTINGS.realWeight))
    .option('--augment <list>', 'augmented copies to train on: comma-separated flip, crop, crop-flip, or none', EVERYDAY_SETTINGS.augment.join(',') || 'none')
    .option('--thresholds <rule>', "'global' or the shrinkage prior of per-concept thresholds (e.g. 50)", String(EVERYDAY_SETTINGS.thresholds))
    .option('--memory-k <n>', 'example memory: neighbours voting on each concept', String(EVERYDAY_SETTINGS.memory?.k ?? 20))
    .option('--memory-temperature <x>', 'example memory: softmax temperature over cosine similarity', String(EVERYDAY_SETTINGS.memory?.temperature ?? 0.05))
    .option('--memory-blend <x>', "example memory: share of its vote in the scores (0: logistic head only, no memory)", String(EVERYDAY_SETTINGS.memory?.blend ?? 0))
    .option('--no-faces', 'evaluate the head alone (no face/person detection for person/group/portrait)')
    .option('--json', 'print the report as JSON')
    .action(async (o: { data: string; model: string; out?: string; l2: string; iterations: string; folds: string; seed: string; realWeight: string; augment: string; thresholds: string; memoryK: string; memoryTemperature: string; memoryBlend: string; faces: boolean; json?: boolean }) => {
      const progress = downloadProgress();
      const engine = await Engine.load({ modelId: o.model, onProgress: progress.update }).finally(progress.stop);
      const augment = o.augment === 'none' ? [] : o.augment.split(',').map((a) => a.trim());
      for (const a of augment) if (!(AUGMENTATIONS as readonly string[]).includes(a)) throw new Error(`--augment: unknown augmentation ${JSON.stringify(a)} (flip, crop, crop-flip or none)`);
      const detector = o.faces ? await FaceDetector.load({ embeddings: false }) : undefined;
      try {
        const { head, report } = await trainEveryday({
          dataDir: o.data,
          engine,
          detector,
          settings: {
            l2: Number(o.l2),
            iterations: Number(o.iterations),
            folds: Number(o.folds),
            seed: Number(o.seed),
            realWeight: Number(o.realWeight),
            augment: augment as Augmentation[],
            thresholds: o.thresholds === 'global' ? 'global' : Number(o.thresholds),
            memory: Number(o.memoryBlend) > 0 ? { k: Number(o.memoryK), temperature: Number(o.memoryTemperature), blend: Number(o.memoryBlend) } : undefined,
          },
          onProgress: (m) => console.error(m),
        });
        const out = o.out ?? everydayHeadPath(engine.model.id);
        await writeHead(out, head);
        if (o.json) console.log(JSON.stringify({ head: out, ...report }));
        else {
          printEverydayReport(report);
          console.log(`wrote ${out}`);
        }
      } finally {
        await detector?.close();
        await engine.close();
      }
    });

  concepts
    .command('teach')
    .description("train (or retrain) an owner's concept from example photos; re-scores the owner's stored photos")
    .argument('<name>', 'concept name (the tag id is OWNER/NAME)')
    .requiredOption('--owner <name>', 'whose concept')
    .requiredOption('--positive <files...>', 'photos showing the concept (files or folders)')
    .option('--negative <files...>', "photos not showing it (default: the owner's other stored photos)")
    .option('--parent <wnid>', 'WordNet synset the concept attaches under, e.g. n02084071 (dog)')
    .option('-m, --model <id>', 'model id', DEFAULT_MODEL_ID)
    .option('--json', 'print the concept as JSON')
    .action(async (name: string, o: { owner: string; positive: string[]; negative?: string[]; parent?: string; model: string; json?: boolean }) => {
      const started = performance.now();
      if (o.parent !== undefined && !(await loadWordNet()).has(o.parent)) throw new Error(`--parent ${o.parent} is not a WordNet noun synset (try \`pictograph tree WORD\`)`);
      const session = await openSession();
      let engine: Engine | undefined;
      const loadEngine = async (): Promise<Engine> => (engine ??= await Engine.load({ modelId: o.model }));
      try {
        const db = session.lib.db;
        const ownerId = await findOwnerId(db, o.owner);
        if (ownerId === undefined) throw new LibraryError('unknown_owner', `no owner named ${o.owner} (ingest photos for them first)`);
        const e = await loadEngine();
        const model = { id: e.model.id, sha256: e.model.sha256 };
        const stored = new Map((await ownerEmbeddings(db, ownerId, model)).map((p) => [p.hash, p.embedding]));
        const positiveFiles = await expandInputs(o.positive);
        if (positiveFiles.length === 0) throw new LibraryError('bad_request', 'a concept needs at least one positive example (no image files given)');
        const positives = await exampleEmbeddings(positiveFiles, stored, loadEngine);
        const negatives = o.negative ? await exampleEmbeddings(await expandInputs(o.negative), stored, loadEngine) : undefined;
        const { concept, seconds } = await teachConcept(db, { owner: o.owner, name, model, positives, negatives, parent: o.parent });
        const total = (performance.now() - started) / 1000;
        if (o.json) console.log(JSON.stringify({ ...concept, seconds: { ...seconds, total } }));
        else {
          printConcept(concept);
          console.error(`trained in ${seconds.train.toFixed(2)} s, re-scored the owner's photos in ${seconds.rescore.toFixed(2)} s`);
        }
      } finally {
        await engine?.close();
        await session.close();
      }
    });

  concepts
    .command('list')
    .description("an owner's concepts")
    .requiredOption('--owner <name>', 'whose concepts')
    .option('--json', 'one JSON array')
    .action(async (o: { owner: string; json?: boolean }) => {
      const session = await openSession();
      try {
        const list = await listConcepts(session.lib.db, o.owner);
        if (o.json) console.log(JSON.stringify(list));
        else for (const c of list) console.log(`${c.id}  threshold ${c.threshold.toFixed(3)}  ${c.positives}+/${c.negatives}-  ${c.photos} photos`);
      } finally {
        await session.close();
      }
    });

  concepts
    .command('show')
    .description('a concept with its training curves and diagnosis')
    .argument('<name>')
    .requiredOption('--owner <name>', 'whose concept')
    .option('--json', 'as JSON')
    .action(async (name: string, o: { owner: string; json?: boolean }) => {
      const session = await openSession();
      try {
        const c = await showConcept(session.lib.db, o.owner, name);
        if (o.json) console.log(JSON.stringify(c));
        else printConcept(c);
      } finally {
        await session.close();
      }
    });

  concepts
    .command('feedback')
    .description("answer \"was this right?\" for a concept's tag on one of the owner's photos (used by retrain)")
    .argument('<name>')
    .requiredOption('--owner <name>', 'whose concept')
    .requiredOption('--photo <id>', 'photo id')
    .option('--right', 'the photo shows the concept')
    .option('--wrong', 'the photo does not show the concept')
    .action(async (name: string, o: { owner: string; photo: string; right?: boolean; wrong?: boolean }) => {
      if (Boolean(o.right) === Boolean(o.wrong)) throw new Error('give exactly one of --right or --wrong');
      const photo = Number(o.photo);
      if (!Number.isInteger(photo) || photo < 1) throw new Error(`--photo must be a photo id, not ${JSON.stringify(o.photo)}`);
      const session = await openSession();
      try {
        await recordConceptFeedback(session.lib.db, o.owner, name, photo, Boolean(o.right));
        console.error(`recorded: photo ${photo} ${o.right ? 'shows' : 'does not show'} ${o.owner}/${name}`);
      } finally {
        await session.close();
      }
    });

  concepts
    .command('retrain')
    .description('retrain a concept (or, with --everyday, the everyday head) from its examples plus every feedback answer; reports validation F1 before and after')
    .argument('[name]', 'the custom concept (omit with --everyday)')
    .option('--owner <name>', 'whose concept')
    .option('--everyday', 'retrain the everyday head with the stored answers about everyday tags (writes $PICTOGRAPH_HOME/heads/)')
    .option('--data <dir>', 'shared data folder for --everyday (photos/, photos-train/, imagenet-calib/)', defaultSharedData())
    .option('-m, --model <id>', 'model id (--everyday)', DEFAULT_MODEL_ID)
    .option('--json', 'as JSON')
    .action(async (name: string | undefined, o: { owner?: string; everyday?: boolean; data: string; model: string; json?: boolean }) => {
      if (o.everyday) return retrainEveryday(o);
      if (!name || !o.owner) throw new Error('retrain: give a concept name and --owner, or --everyday');
      const session = await openSession();
      try {
        const r = await retrainConcept(session.lib.db, o.owner, name);
        if (o.json) console.log(JSON.stringify(r));
        else {
          console.log(`feedback added ${r.added.positives} positives and ${r.added.negatives} negatives; validation F1 ${r.before.toFixed(3)} -> ${r.after.toFixed(3)}`);
          printConcept(r.concept);
        }
      } finally {
        await session.close();
      }
    });

  concepts
    .command('delete')
    .description('delete a concept and its tags')
    .argument('<name>')
    .requiredOption('--owner <name>', 'whose concept')
    .action(async (name: string, o: { owner: string }) => {
      const session = await openSession();
      try {
        await deleteConcept(session.lib.db, o.owner, name);
        console.error(`deleted ${o.owner}/${name}`);
      } finally {
        await session.close();
      }
    });
}

/**
 * `concepts retrain --everyday`: the everyday head retrained on the shared training set plus every stored answer
 * about an everyday tag (right -> positive, wrong -> negative for that tag), cross-validated the same way as
 * `train-everyday`; prints the held-out micro F1 before (the head in use) and after, and writes the new head to
 * $PICTOGRAPH_HOME/heads/ (used from then on instead of the shipped one).
 */
async function retrainEveryday(o: { data: string; model: string; json?: boolean }): Promise<void> {
  const progress = downloadProgress();
  const engine = await Engine.load({ modelId: o.model, onProgress: progress.update }).finally(progress.stop);
  const detector = await FaceDetector.load({ embeddings: false });
  const session = await openSession();
  try {
    const model = { id: engine.model.id, sha256: engine.model.sha256 };
    const extra = await everydayFeedback(session.lib.db, model);
    const current = await loadEverydayHead(model);
    const before = (current?.training.heldOutMicro as { photos?: { f1: number } } | undefined)?.photos?.f1 ?? null;
    const { head, report } = await trainEveryday({ dataDir: o.data, engine, detector, extra, onProgress: (m) => console.error(m) });
    const out = retrainedEverydayHeadPath(model.id);
    await writeHead(out, head);
    const after = report.micro.photos.f1;
    if (o.json) console.log(JSON.stringify({ head: out, feedback: extra.length, before, after, report }));
    else {
      console.log(`feedback answers used: ${extra.length} (${extra.filter((e) => e.correct).length} right, ${extra.filter((e) => !e.correct).length} wrong)`);
      console.log(`held-out micro F1 on the shared photos: ${before === null ? 'n/a' : before.toFixed(3)} -> ${after.toFixed(3)}`);
      console.log(`wrote ${out}`);
    }
  } finally {
    await session.close();
    await detector.close();
    await engine.close();
  }
}

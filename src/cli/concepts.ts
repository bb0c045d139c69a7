// `pictograph concepts ...`: train the shipped everyday head; teach, list, show and delete an owner's concepts.
import type { Command } from 'commander';
import { writeHead } from '../concepts/head.js';
import { defaultSharedData, everydayHeadPath, trainEveryday, type EverydayReport } from '../concepts/train-everyday.js';
import { Engine } from '../vision/engine.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import { downloadProgress } from './models.js';

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
  console.log(`micro F1: photos ${r.micro.photos.f1.toFixed(3)} (P ${r.micro.photos.precision.toFixed(3)}, R ${r.micro.photos.recall.toFixed(3)}), all real ${r.micro.real.f1.toFixed(3)}`);
  const a = r.subjectAgreement;
  console.log(`best concept's consumer category = manifest subject: ${a.agree}/${a.photos} (${(a.rate * 100).toFixed(1)}%): ${Object.entries(a.bySubject).map(([s, b]) => `${s} ${b.agree}/${b.photos}`).join(', ')}`);
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
    .option('--l2 <x>', 'L2 penalty', '0.001')
    .option('--iterations <n>', 'gradient steps', '100')
    .option('--folds <k>', 'cross-validation folds', '5')
    .option('--seed <n>', 'fold assignment seed', '10')
    .option('--json', 'print the report as JSON')
    .action(async (o: { data: string; model: string; out?: string; l2: string; iterations: string; folds: string; seed: string; json?: boolean }) => {
      const progress = downloadProgress();
      const engine = await Engine.load({ modelId: o.model, onProgress: progress.update }).finally(progress.stop);
      try {
        const { head, report } = await trainEveryday({
          dataDir: o.data,
          engine,
          settings: { l2: Number(o.l2), iterations: Number(o.iterations), folds: Number(o.folds), seed: Number(o.seed) },
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
        await engine.close();
      }
    });
}

// `pictograph calibrate`: finds the DARTS lambda for an accuracy target on a labelled photo set and stores it per model.
import { Command } from 'commander';
import { basename, dirname, join, resolve } from 'node:path';
import { calibrationFileName, saveCalibration } from '../taxonomy/calibration-store.js';
import { crossValidate } from '../taxonomy/evaluate.js';
import { calibrate, type CalibrationBound } from '../taxonomy/hedge.js';
import { predictLabelled } from '../taxonomy/labelled.js';
import { DEFAULT_TARGET, loadHierarchy } from '../taxonomy/load.js';

export function parseTarget(text: string): number {
  const t = Number(text);
  if (!(t > 0 && t < 1)) throw new Error(`--target must lie strictly between 0 and 1, got '${text}'`);
  return t;
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description('calibrate hedged labels: find lambda so that accuracy meets --target (one-sided 95% Clopper-Pearson bound) on labelled photos')
    .requiredOption('--images <dir>', 'folder of labelled photos')
    .requiredOption('--labels <tsv>', "TSV with 'file' and 'wnid' columns")
    .option('--target <p>', 'accuracy target 1 - epsilon', String(DEFAULT_TARGET))
    .option('--model <id>', 'model id (default: the default model)')
    .option('--bound <kind>', "'clopper-pearson' (default) or 'none' (plain sample accuracy)", 'clopper-pearson')
    .option('--confidence <c>', 'confidence of the lower bound', '0.95')
    .option('--out-dir <dir>', 'write the calibrations here instead of the cache (e.g. data/calibrations)')
    .option('--json', 'print JSON')
    .action(async (opts: { images: string; labels: string; target: string; model?: string; bound: string; confidence: string; outDir?: string; json?: boolean }) => {
      const target = parseTarget(opts.target);
      const bound = opts.bound as CalibrationBound;
      if (bound !== 'clopper-pearson' && bound !== 'none') throw new Error(`--bound must be 'clopper-pearson' or 'none'`);
      const confidence = Number(opts.confidence);
      if (!(confidence > 0 && confidence < 1)) throw new Error('--confidence must lie strictly between 0 and 1');
      const hierarchy = await loadHierarchy('imagenet-1k');
      const data = await predictLabelled(opts.images, opts.labels, { modelId: opts.model });
      if (data.probs.length === 0) throw new Error('no photo could be classified');
      const truths = data.photos.map((p) => p.wnid);
      const results = (['sum', 'mean'] as const).map((rule) => {
        const cal = {
          ...calibrate(data.probs, truths, target, { hierarchy, rule, bound, confidence, modelId: data.model.id }),
          modelSha256: data.model.sha256,
          dataset: `${basename(dirname(resolve(opts.labels)))}/${basename(opts.labels)} (${data.probs.length} photos)`,
        };
        const file = saveCalibration(cal, opts.outDir ? { file: join(opts.outDir, calibrationFileName(cal)) } : {});
        const cv = crossValidate(data.probs, truths, hierarchy, { target, rule, bound, confidence, folds: 5 });
        return { calibration: cal, file, cross_validated: cv };
      });
      if (opts.json) {
        console.log(JSON.stringify({ model: data.model, n: data.probs.length, failed: data.failed, results }, null, 2));
        return;
      }
      console.log(`model ${data.model.id}: ${data.probs.length} photos${data.failed.length ? `, ${data.failed.length} failed` : ''}`);
      for (const { calibration: c, file, cross_validated: cv } of results) {
        console.log(
          `${c.rule.padEnd(4)} target ${c.target}: lambda ${c.lambda.toFixed(4)}${c.met ? '' : ' (target NOT met)'}; ` +
            `accuracy ${c.accuracy.toFixed(3)} (lower bound ${c.lowerBound.toFixed(3)}), ${c.meanInfoGainBits.toFixed(2)} bits; ` +
            `5-fold CV: accuracy ${cv.accuracy.toFixed(3)}, ${cv.mean_info_gain_bits.toFixed(2)} bits -> ${file}`,
        );
      }
    });
}

// `pictograph eval`: top-1/5, hedged accuracy and information gain, mistake severity — `sum` and `mean` rules side by side.
import { Command } from 'commander';
import { loadCalibration } from '../taxonomy/calibration-store.js';
import { crossValidate, evaluate } from '../taxonomy/evaluate.js';
import { predictLabelled } from '../taxonomy/labelled.js';
import { DEFAULT_TARGET, loadHierarchy } from '../taxonomy/load.js';
import { parseTarget } from './calibrate.js';

export function register(program: Command): void {
  program
    .command('eval')
    .description('evaluate the model and hedged labels on labelled photos (calibrations from `pictograph calibrate` or the committed defaults)')
    .requiredOption('--images <dir>', 'folder of labelled photos')
    .requiredOption('--labels <tsv>', "TSV with 'file' and 'wnid' columns")
    .option('--model <id>', 'model id (default: the default model)')
    .option('--target <p>', 'accuracy target of the calibration to use', String(DEFAULT_TARGET))
    .option('--cross-validate', 'also calibrate inside this set (5-fold) and report the held-out estimate')
    .option('--json', 'print one JSON object')
    .action(async (opts: { images: string; labels: string; model?: string; target: string; crossValidate?: boolean; json?: boolean }) => {
      const target = parseTarget(opts.target);
      const hierarchy = await loadHierarchy('imagenet-1k');
      const data = await predictLabelled(opts.images, opts.labels, { modelId: opts.model });
      const key = { modelId: data.model.id, target, labelSet: hierarchy.labelSet.id };
      const sum = loadCalibration({ ...key, rule: 'sum' });
      const mean = loadCalibration({ ...key, rule: 'mean' });
      if (!sum) console.error(`pictograph: no calibration for ${data.model.id} at target ${target}; run \`pictograph calibrate\` (hedged results omitted)`);
      const truths = data.photos.map((p) => p.wnid);
      const report = evaluate(data.probs, truths, hierarchy, { sum, mean });
      const out: Record<string, unknown> = { model: data.model, ...report };
      if (data.failed.length) out.failed = data.failed;
      if (opts.crossValidate) out.cross_validated = crossValidate(data.probs, truths, hierarchy, { target, folds: 5 });
      if (opts.json) {
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      const line = (r: typeof report | typeof report.mean) =>
        `${r.rule.padEnd(4)} n ${r.n}  top1 ${r.top1.toFixed(3)}  top5 ${r.top5.toFixed(3)}  ` +
        (r.hedged ? `hedged@${r.hedged.target}: accuracy ${r.hedged.accuracy.toFixed(3)}, ${r.hedged.mean_info_gain_bits.toFixed(2)} bits, leaves ${r.hedged.leaf_share.toFixed(2)}  ` : 'hedged: no calibration  ') +
        `mistake severity ${r.mistake_severity.toFixed(2)}`;
      console.log(`model ${data.model.id}`);
      console.log(line(report));
      console.log(line(report.mean));
    });
}

// `pictograph models list | pull <id> | import <file> | verify`: the model store from the command line.
import type { Command } from 'commander';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import cliProgress from 'cli-progress';
import { importModel, listModels, resolveModel, verifyModels, type FetchProgress } from '../vision/store.js';

/** A download progress bar for model fetches (cli-progress on a terminal, silent otherwise). */
export function downloadProgress(stream: NodeJS.WriteStream = process.stderr): { update: (p: FetchProgress) => void; stop: () => void } {
  if (!stream.isTTY) return { update: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | null = null;
  let source = '';
  return {
    update(p) {
      if (!bar || p.source !== source) {
        bar?.stop();
        source = p.source;
        bar = new cliProgress.SingleBar(
          { stream, format: `${p.model} [{bar}] {percentage}% {value}/{total} bytes from ${p.source}`, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.total ?? 0, 0);
      }
      if (p.total !== null) bar.setTotal(p.total);
      bar.update(p.received);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

export function register(program: Command): void {
  const models = program.command('models').description('list, fetch, import and verify classification models');

  models
    .command('list')
    .description('known models and whether each is in the cache')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const rows = await listModels();
      if (o.json) {
        for (const r of rows) {
          const { id, file, size, sha256, license, urls, maxBatch } = r.spec;
          console.log(JSON.stringify({ id, file, size, sha256, license, urls, maxBatch, default: id === DEFAULT_MODEL_ID, cached: r.cached, path: r.path }));
        }
        return;
      }
      for (const r of rows) {
        const mark = r.spec.id === DEFAULT_MODEL_ID ? '*' : ' ';
        const state = r.cached ? 'cached' : 'not cached';
        const check = r.spec.sha256 ? '' : '  (no published checksum: needs --allow-unverified)';
        console.log(`${mark} ${r.spec.id.padEnd(24)} ${state.padEnd(11)} ${r.spec.license.padEnd(13)} ${r.spec.description}${check}`);
      }
    });

  models
    .command('pull')
    .description('fetch a model into the cache (cache -> PICTOGRAPH_MODEL_MIRROR -> canonical URL), verifying its sha256')
    .argument('[id]', 'model id', DEFAULT_MODEL_ID)
    .option('--allow-unverified', 'accept a model whose manifest entry has no checksum')
    .action(async (id: string, o: { allowUnverified?: boolean }) => {
      const progress = downloadProgress();
      const m = await resolveModel(id, { onProgress: progress.update, allowUnverified: o.allowUnverified }).finally(progress.stop);
      console.log(`${m.spec.id}: ${m.path} (sha256 ${m.sha256})`);
    });

  models
    .command('import')
    .description('copy a local model file into the cache after verifying it against the manifest')
    .argument('<file>', 'the .onnx file')
    .option('--id <id>', 'the model it is (needed for a model without a published checksum)')
    .option('--allow-unverified', 'accept a model whose manifest entry has no checksum')
    .action(async (file: string, o: { id?: string; allowUnverified?: boolean }) => {
      const m = await importModel(file, { id: o.id, allowUnverified: o.allowUnverified });
      console.log(`imported ${m.spec.id}: ${m.path} (sha256 ${m.sha256})`);
    });

  models
    .command('verify')
    .description('check every cached model file against its sha256; exit non-zero if any is corrupt')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const rows = await verifyModels();
      let bad = 0;
      for (const r of rows) {
        if (r.status === 'corrupt') bad++;
        if (o.json) console.log(JSON.stringify(r));
        else console.log(`${r.id.padEnd(24)} ${r.status.padEnd(10)} ${r.detail ?? (r.status === 'missing' ? '' : r.path)}`);
      }
      if (bad > 0) {
        console.error(`${bad} cached model file(s) are corrupt; delete them or run \`pictograph models pull ID\` to replace them`);
        process.exitCode = 1;
      }
    });
}

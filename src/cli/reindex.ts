// `pictograph reindex [--model ID]`: re-classify only the photos whose stored results came from another model.
import type { Command } from 'commander';
import { openLibrary } from '../library/db.js';
import { loadRecognizer } from '../library/recognizer.js';
import { reindexPhotos } from '../library/reindex.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';

export function register(program: Command): void {
  program
    .command('reindex')
    .description('re-classify photos analysed by another model (old results stay readable until replaced)')
    .option('-m, --model <id>', 'the model to bring every photo to', DEFAULT_MODEL_ID)
    .option('--json', 'print the summary as JSON')
    .action(async (o: { model: string; json?: boolean }) => {
      const recognizer = await loadRecognizer({ modelId: o.model });
      const lib = await openLibrary();
      try {
        const s = await reindexPhotos(lib.db, {
          recognizer,
          onProgress: (p) => {
            if (process.stderr.isTTY) process.stderr.write(`\rreindex ${p.done}/${p.total} (${p.failed} failed)`);
          },
        });
        if (process.stderr.isTTY && s.total > 0) process.stderr.write('\n');
        if (o.json) process.stdout.write(JSON.stringify(s) + '\n');
        else {
          process.stdout.write(`reindexed to ${s.model.id}: ${s.replaced} of ${s.total} photos replaced, ${s.failed} failed (${s.seconds.toFixed(1)} s)\n`);
          for (const e of s.errors) process.stdout.write(`  failed: ${e.file}: ${e.code}: ${e.message}\n`);
        }
        if (s.failed > 0) process.exitCode = 1;
      } finally {
        await recognizer.close();
        await lib.close();
      }
    });
}

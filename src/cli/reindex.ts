// `pictograph reindex [--model ID]`: re-classify only the photos whose stored results came from another model.
import type { Command } from 'commander';
import { openLibrary } from '../library/db.js';
import { loadRecognizer } from '../library/recognizer.js';
import { reindexPhotos } from '../library/reindex.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import { openQueue } from './worker.js';

export function register(program: Command): void {
  program
    .command('reindex')
    .description('re-classify photos analysed by another model (old results stay readable until replaced)')
    .option('-m, --model <id>', 'the model to bring every photo to', DEFAULT_MODEL_ID)
    .option('--queue', 'run as background jobs on the PostgreSQL queue (DATABASE_URL): one job per photo, old results stay visible until each is redone')
    .option('--json', 'print the summary as JSON')
    .action(async (o: { model: string; json?: boolean; queue?: boolean }) => {
      if (o.queue) {
        const queue = await openQueue();
        try {
          const r = await queue.submitReindex({ model: o.model });
          if (o.json) process.stdout.write(JSON.stringify({ model: o.model, job: r.id, created: r.created }) + '\n');
          else process.stdout.write(`reindex to ${o.model} ${r.created ? 'queued' : 'was already queued'} (job ${r.id}); follow with \`pictograph jobs\`\n`);
        } finally {
          await queue.close();
        }
        return;
      }
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

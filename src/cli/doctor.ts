// `pictograph doctor [--repair-counts]`: checks the library's derived data against the photos — the maintained
// counts (recomputed from every photo; drift reported, and replaced with --repair-counts).
import type { Command } from 'commander';
import { openLibrary } from '../library/db.js';
import { recountAll } from '../library/counts.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Check the maintained counts against the photos (exit code 1 when they drifted and were not repaired).')
    .option('--repair-counts', 'recompute every count from the photos and replace the stored ones')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { repairCounts?: boolean; json?: boolean }) => {
      const lib = await openLibrary();
      try {
        const r = await recountAll(lib.db, lib.dialect, { repair: opts.repairCounts === true });
        const report = { counts: { rows: r.rows, drift: r.drift.length, repaired: r.repaired, seconds: Number(r.seconds.toFixed(3)), examples: r.drift.slice(0, 20) } };
        if (opts.json) console.log(JSON.stringify(report));
        else {
          console.log(`counts: ${r.rows} rows recomputed in ${r.seconds.toFixed(2)} s; ${r.drift.length} drifted${r.repaired ? ' (repaired)' : ''}`);
          for (const d of r.drift.slice(0, 20))
            console.log(`  owner ${d.owner_id} ${d.visibility} ${d.kind} ${d.key || '-'}: stored ${d.stored.photos}/${d.stored.score_micros}, expected ${d.expected.photos}/${d.expected.score_micros}`);
        }
        if (r.drift.length > 0 && !r.repaired) process.exitCode = 1;
      } finally {
        await lib.close();
      }
    });
}

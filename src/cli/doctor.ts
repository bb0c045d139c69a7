// `pictograph doctor`: checks the library's derived data against the photos. Media: files no photo references
// (orphans), temporary files left by killed runs, photos whose files are missing — leftovers are removed unless
// --dry-run. Counts: the maintained counts recomputed from every photo; drift reported, replaced with --repair-counts.
import type { Command } from 'commander';
import { mediaDir } from '../config/paths.js';
import { openLibrary } from '../library/db.js';
import { recountAll } from '../library/counts.js';
import { mediaDoctor, type DoctorReport } from '../library/media.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check media files and maintained counts against the stored photos; remove leftover media files (exit 1 when something is left to fix)')
    .option('--dry-run', 'only report media leftovers; remove nothing')
    .option('--repair-counts', 'recompute every count from the photos and replace the stored ones')
    .option('--json', 'print the report as JSON: the media report, with `counts`')
    .action(async (o: { dryRun?: boolean; repairCounts?: boolean; json?: boolean }) => {
      const lib = await openLibrary();
      try {
        const media = await mediaDoctor(lib.db, mediaDir(), { fix: !o.dryRun });
        const r = await recountAll(lib.db, lib.dialect, { repair: o.repairCounts === true });
        const counts = { rows: r.rows, drift: r.drift.length, repaired: r.repaired, seconds: Number(r.seconds.toFixed(3)), examples: r.drift.slice(0, 20) };
        if (o.json) process.stdout.write(JSON.stringify({ ...media, counts }) + '\n');
        else {
          printMedia(media);
          console.log(`counts: ${r.rows} rows recomputed in ${r.seconds.toFixed(2)} s; ${r.drift.length} drifted${r.repaired ? ' (repaired)' : ''}`);
          for (const d of counts.examples)
            console.log(`  owner ${d.owner_id} ${d.visibility} ${d.kind} ${d.key || '-'}: stored ${d.stored.photos}/${d.stored.score_micros}, expected ${d.expected.photos}/${d.expected.score_micros}`);
        }
        const mediaLeft = media.missing.length > 0 || (!media.fixed && media.orphans.length + media.staleTemporary.length > 0);
        if (mediaLeft || (r.drift.length > 0 && !r.repaired)) process.exitCode = 1;
      } finally {
        await lib.close();
      }
    });
}

function printMedia(r: DoctorReport): void {
  const verb = r.fixed ? 'removed' : 'found';
  const mb = (r.bytes / 1024 / 1024).toFixed(1);
  console.log(`${verb} ${r.orphans.length} orphan media files and ${r.staleTemporary.length} stale temporary files (${mb} MB)`);
  for (const f of r.orphans.slice(0, 20)) console.log(`  orphan: ${f}`);
  for (const f of r.staleTemporary.slice(0, 20)) console.log(`  temporary: ${f}`);
  if (r.liveTemporary.length > 0) console.log(`${r.liveTemporary.length} temporary files belong to running processes (left alone)`);
  if (r.missing.length > 0) {
    console.log(`${r.missing.length} files referenced by photos are missing (re-ingest or re-upload those photos):`);
    for (const m of r.missing.slice(0, 20)) console.log(`  photo ${m.photo}: ${m.file}`);
  } else console.log('every stored photo has its files');
}

// `pictograph doctor`: checks the media folder against the library — files no photo references (orphans),
// temporary files left by killed runs, photos whose files are missing — and removes the leftovers.
import type { Command } from 'commander';
import { mediaDir } from '../config/paths.js';
import { openLibrary } from '../library/db.js';
import { mediaDoctor, type DoctorReport } from '../library/media.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('find and remove media files no stored photo references, and temporary files of killed runs')
    .option('--dry-run', 'only report; remove nothing')
    .option('--json', 'print the report as JSON')
    .action(async (o: { dryRun?: boolean; json?: boolean }) => {
      const lib = await openLibrary();
      try {
        const report = await mediaDoctor(lib.db, mediaDir(), { fix: !o.dryRun });
        if (o.json) process.stdout.write(JSON.stringify(report) + '\n');
        else printReport(report);
        if (report.missing.length > 0 || (!report.fixed && report.orphans.length + report.staleTemporary.length > 0)) process.exitCode = 1;
      } finally {
        await lib.close();
      }
    });
}

function printReport(r: DoctorReport): void {
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

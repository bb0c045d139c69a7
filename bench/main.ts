// `npm run bench [folder] [--only name,...]`: runs each benchmark section, prints a table per section and
// writes its JSON report to bench/out/<section>.json. Add a section with one line in `sections`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchOptions {
  /** Folder of sample images (default ../shared/data/imagenet-calib/images). */
  folder: string;
  /** Where JSON reports go. */
  outDir: string;
  /** `--photos N`: library size for the scale section (default 100,000). */
  photos?: number;
}

type Section = { name: string; run: (opts: BenchOptions) => Promise<Record<string, unknown>> };

const sections: Section[] = [
  { name: 'engine', run: async (o) => (await import('./engine.js')).benchEngine(o) },
  { name: 'taxonomy', run: async () => (await import('./taxonomy.js')).benchTaxonomy() },
  { name: 'ingest', run: async (o) => (await import('./ingest.js')).benchIngest(o) },
  { name: 'library', run: async (o) => (await import('./library.js')).benchLibrary(o) },
  { name: 'server', run: async (o) => (await import('./server.js')).benchServer(o) },
  { name: 'overload', run: async () => (await import('./overload.js')).benchOverload() },
  { name: 'web', run: async () => (await import('./web.js')).benchWeb() },
  { name: 'scale', run: async (o) => (await import('./scale.js')).benchScale(o) },
  { name: 'concepts', run: async () => (await import('./concepts.js')).benchConcepts() },
  { name: 'animation', run: async () => (await import('./animation.js')).benchAnimation() },
  { name: 'cluster', run: async (o) => (await import('./cluster.js')).benchCluster(o) },
  { name: 'people', run: async (o) => (await import('./people.js')).benchPeople(o) },
];

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set((args.splice(onlyAt, 2)[1] ?? '').split(',')) : null;
const photosAt = args.indexOf('--photos');
const photos = photosAt >= 0 ? Number(args.splice(photosAt, 2)[1]) : undefined;
if (photos !== undefined && !(Number.isSafeInteger(photos) && photos > 0)) throw new Error('--photos needs a positive whole number');
const opts: BenchOptions = {
  folder: resolve(args[0] ?? join(here, '..', '..', 'shared', 'data', 'imagenet-calib', 'images')),
  outDir: join(here, 'out'),
  ...(photos !== undefined ? { photos } : {}),
};
mkdirSync(opts.outDir, { recursive: true });

function printTable(name: string, report: Record<string, unknown>): void {
  const rows = Object.entries(report).filter(([, v]) => typeof v !== 'object' || v === null);
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n== ${name} ==`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${typeof v === 'number' ? Number(v.toFixed(3)) : String(v)}`);
  for (const [k, v] of Object.entries(report)) if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object') console.log(`${k}:`), console.table(v);
}

let failed = false;
for (const section of sections) {
  if (only && !only.has(section.name)) continue;
  try {
    const report = await section.run(opts);
    writeFileSync(join(opts.outDir, `${section.name}.json`), JSON.stringify(report, null, 2) + '\n');
    console.log(JSON.stringify({ section: section.name, ...report }));
    printTable(section.name, report);
  } catch (err) {
    failed = true;
    console.error(`bench section ${section.name} failed:`, err);
  }
}
if (failed) process.exitCode = 1;

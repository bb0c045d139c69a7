// The `pictograph` command line: one sub-command per module under src/cli/, all over the same library functions.
import { Command } from 'commander';
// Each command module exports `register(program)`; add new ones here (one line each).
const commandModules: Array<() => Promise<{ register: (program: Command) => void }>> = [
  () => import('./up.js'),
  () => import('./classify.js'),
  () => import('./models.js'),
  () => import('./tree.js'),
  () => import('./calibrate.js'),
  () => import('./eval.js'),
  () => import('./ingest.js'),
  () => import('./reindex.js'),
  () => import('./photos.js'),
  () => import('./query.js'),
  () => import('./serve.js'),
  () => import('./tokens.js'),
  () => import('./doctor.js'),
  () => import('./signin.js'),
  () => import('./concepts.js'),
  () => import('./worker.js'),
  () => import('./people.js'),
];

// `pictograph ... | head` closes stdout early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command('pictograph')
    .description('Understand photo collections: classify, lift through WordNet, explore by concept.')
    .version('0.1.0')
    .showHelpAfterError();
  for (const load of commandModules) (await load()).register(program);
  await program.parseAsync(argv);
}

await main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`pictograph: ${message}`);
  process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
});

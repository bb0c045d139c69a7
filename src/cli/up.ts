// `pictograph up <dir> --owner NAME`: the main command — ingest a folder for an owner, then serve the web app and API.
import type { Command } from 'commander';
import { openLibrary } from '../library/db.js';
import { ensureOwner } from '../library/store.js';
import { createToken } from '../library/tokens.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import { printSummary, runIngest } from './ingest.js';
import { serve } from './serve.js';

interface UpOptions {
  owner: string;
  public?: boolean;
  keepGps?: boolean;
  model: string;
  port: string;
  host: string;
  token: boolean;
}

export function register(program: Command): void {
  program
    .command('up')
    .description('ingest photos for an owner (re-runs skip what is stored), then serve the app on http://HOST:PORT/')
    .argument('<paths...>', 'image files or folders')
    .requiredOption('--owner <name>', 'whose photos these are')
    .option('--public', 'make the photos visible to everyone (default: private)')
    .option('--keep-gps', 'keep GPS coordinates from EXIF (dropped by default)')
    .option('-m, --model <id>', 'model id', DEFAULT_MODEL_ID)
    .option('--port <n>', 'TCP port', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--no-token', 'do not create a sign-in token for the owner')
    .action(async (paths: string[], o: UpOptions) => {
      const summary = await runIngest(paths, { owner: o.owner, public: o.public, keepGps: o.keepGps, model: o.model });
      printSummary(summary, process.stderr);
      let token: string | null = null;
      if (o.token) {
        // Private photos are visible only to their owner: hand the owner a token to sign in with.
        const lib = await openLibrary();
        try {
          token = (await createToken(lib.db, { ownerId: await ensureOwner(lib.db, o.owner) })).token;
        } finally {
          await lib.close();
        }
      }
      const address = await serve({ port: o.port, host: o.host, model: o.model, target: '0.9', logLevel: 'warn' });
      console.log(`Pictograph is serving ${o.owner}'s photos at ${address}/`);
      if (token) console.log(`Sign in (top right) with this token to see private photos; it is shown only now:\n  ${token}`);
    });
}

// `pictograph up <dir> --owner NAME`: the main command — ingest a folder for an owner, then serve the web app and API.
import type { Command } from 'commander';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import { printSummary, runIngest } from './ingest.js';
import { serve } from './serve.js';
import { signInLinkFor } from './signin.js';

interface UpOptions {
  faces?: boolean;
  owner: string;
  public?: boolean;
  keepGps?: boolean;
  model: string;
  port: string;
  host: string;
  signIn: boolean;
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
    .option('--no-sign-in', 'do not print a sign-in link for the owner')
    .option('--no-faces', 'no face detection (ingest and server)')
    .action(async (paths: string[], o: UpOptions) => {
      const summary = await runIngest(paths, { owner: o.owner, public: o.public, keepGps: o.keepGps, model: o.model, faces: o.faces });
      printSummary(summary, process.stderr);
      const address = await serve({ port: o.port, host: o.host, model: o.model, target: '0.9', logLevel: 'warn', faces: o.faces });
      console.log(`Pictograph is serving ${o.owner}'s photos at ${address}/`);
      if (o.signIn) {
        // Private photos are visible only to their owner: one click signs the owner's browser in.
        const link = await signInLinkFor(o.owner, address);
        console.log(`Open this link to sign in as ${o.owner} (works once, within 15 minutes):\n  ${link.url}`);
        console.log(`For a new link later: pictograph signin --owner ${o.owner} --url ${address}`);
      }
    });
}

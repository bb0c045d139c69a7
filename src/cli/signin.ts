// `pictograph signin --owner NAME`: a one-time sign-in link for the web app (what `up` prints), for when the
// first one expired or was used; the server shares the library, so a running `serve`/`up` accepts it at once.
import type { Command } from 'commander';
import { createSignInCode, signInUrl, SIGN_IN_CODE_TTL_MS } from '../library/browser-sessions.js';
import { openLibrary, type LibraryDb } from '../library/db.js';
import { ensureOwner, findOwnerId } from '../library/store.js';

export function register(program: Command): void {
  program
    .command('signin')
    .description('print a one-time link that opens the web app signed in as an owner (expires in 15 minutes)')
    .requiredOption('--owner <name>', 'the owner to sign in as')
    .option('--url <base>', 'where the app is served', 'http://127.0.0.1:8080')
    .option('--json', 'print {url, owner, expires_at} as JSON')
    .action(async (opts: { owner: string; url: string; json?: boolean }) => {
      const lib = await openLibrary();
      try {
        const ownerId = await findOwnerId(lib.db, opts.owner);
        if (ownerId === undefined) throw new Error(`no owner named ${opts.owner} (ingest photos for them first)`);
        const link = await signInLink(lib.db, ownerId, opts.url);
        if (opts.json) console.log(JSON.stringify({ url: link.url, owner: opts.owner, expires_at: link.expiresAt }));
        else console.log(link.url);
      } finally {
        await lib.close();
      }
    });
}

/** A fresh one-time sign-in link for an owner on the server at `base` (a wildcard listen address becomes loopback). */
export async function signInLink(db: LibraryDb, ownerId: number, base: string): Promise<{ url: string; expiresAt: string }> {
  const { code, expiresAt } = await createSignInCode(db, ownerId, SIGN_IN_CODE_TTL_MS);
  const reachable = base.replace('//0.0.0.0', '//127.0.0.1').replace('//[::]', '//[::1]');
  return { url: signInUrl(reachable, code), expiresAt };
}

/** Opens the library, makes sure the owner exists, and returns a sign-in link (used by `up`). */
export async function signInLinkFor(owner: string, base: string): Promise<{ url: string; expiresAt: string }> {
  const lib = await openLibrary();
  try {
    return await signInLink(lib.db, await ensureOwner(lib.db, owner), base);
  } finally {
    await lib.close();
  }
}

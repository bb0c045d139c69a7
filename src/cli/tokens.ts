// `pictograph tokens create|list|revoke`: API tokens for owners (and admins), shown once and stored hashed.
import type { Command } from 'commander';
import { openLibrary } from '../library/db.js';
import { ensureOwner, findOwnerId } from '../library/store.js';
import { createToken, listTokens, revokeToken } from '../library/tokens.js';

export function register(program: Command): void {
  const tokens = program.command('tokens').description('manage API tokens (Authorization: Bearer <token>)');
  tokens
    .command('create')
    .description('Create a token for an owner (created when new); prints the token once.')
    .option('--owner <name>', 'the owner the token acts for')
    .option('--admin', 'the token may also manage owners and tokens')
    .option('--json', 'print {token, owner, admin} as JSON')
    .action(async (opts: { owner?: string; admin?: boolean; json?: boolean }) => {
      if (!opts.owner && !opts.admin) throw new Error('name an owner with --owner NAME (or pass --admin for an admin token)');
      const lib = await openLibrary();
      try {
        const ownerId = opts.owner ? await ensureOwner(lib.db, opts.owner) : null;
        const { token } = await createToken(lib.db, { ownerId, admin: opts.admin ?? false });
        if (opts.json) console.log(JSON.stringify({ token, owner: opts.owner ?? null, admin: opts.admin ?? false }));
        else {
          console.log(token);
          console.error(
            `token for ${opts.owner ?? '(no owner)'}${opts.admin ? ' with admin rights' : ''}; it is shown only now (stored hashed)`,
          );
        }
      } finally {
        await lib.close();
      }
    });
  tokens
    .command('list')
    .description('List tokens (ids and owners; secrets are never stored).')
    .option('--owner <name>', 'only this owner’s tokens')
    .option('--json', 'one JSON object per token')
    .action(async (opts: { owner?: string; json?: boolean }) => {
      const lib = await openLibrary();
      try {
        let ownerId: number | undefined;
        if (opts.owner) {
          ownerId = await findOwnerId(lib.db, opts.owner);
          if (ownerId === undefined) throw new Error(`no owner named ${opts.owner}`);
        }
        for (const t of await listTokens(lib.db, ownerId)) {
          if (opts.json) console.log(JSON.stringify(t));
          else console.log(`${t.id}\t${t.owner ?? '-'}\t${t.admin ? 'admin' : ''}\t${t.created_at}`);
        }
      } finally {
        await lib.close();
      }
    });
  tokens
    .command('revoke <id>')
    .description('Revoke a token by id.')
    .action(async (id: string) => {
      const n = Number(id);
      if (!Number.isInteger(n) || n < 1) throw new Error('the token id is a positive integer (see `pictograph tokens list`)');
      const lib = await openLibrary();
      try {
        if (!(await revokeToken(lib.db, n))) throw new Error(`no token ${n}`);
        console.error(`revoked token ${n}`);
      } finally {
        await lib.close();
      }
    });
}

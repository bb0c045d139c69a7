// API tokens: random bearer secrets shown once, stored only as sha256 hashes, each for an owner and/or admin.
import { createHash, randomBytes } from 'node:crypto';
import type { LibraryDb } from './db.js';
import { nowIso } from './db.js';

export interface TokenIdentity {
  tokenId: number;
  owner: { id: number; name: string } | null;
  admin: boolean;
}

const PREFIX = 'pgt_';

/** sha256 hex of a token (tokens are 256-bit random, so a fast hash is enough). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A fresh random token string (`pgt_` + 43 base64url characters). */
export function newTokenSecret(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** Stores a new token for an owner (or an owner-less admin token) and returns the secret, which is never stored. */
export async function createToken(
  db: LibraryDb,
  opts: { ownerId: number | null; admin?: boolean },
): Promise<{ id: number; token: string }> {
  if (opts.ownerId === null && !opts.admin) throw new Error('a token needs an owner or admin rights');
  const token = newTokenSecret();
  const row = await db
    .insertInto('tokens')
    .values({ owner_id: opts.ownerId, token_hash: hashToken(token), admin: opts.admin ? 1 : 0, created_at: nowIso() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: Number(row.id), token };
}

/** Who a presented token belongs to, or null when it is unknown. */
export async function findToken(db: LibraryDb, token: string): Promise<TokenIdentity | null> {
  if (!token.startsWith(PREFIX) || token.length > 200) return null;
  const row = await db
    .selectFrom('tokens as t')
    .leftJoin('owners as o', 'o.id', 't.owner_id')
    .select(['t.id as id', 't.admin as admin', 'o.id as owner_id', 'o.name as owner_name'])
    .where('t.token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row) return null;
  return {
    tokenId: Number(row.id),
    owner: row.owner_id !== null && row.owner_name !== null ? { id: Number(row.owner_id), name: row.owner_name } : null,
    admin: Number(row.admin) === 1,
  };
}

/** Tokens of one owner (or all), without secrets. */
export async function listTokens(
  db: LibraryDb,
  ownerId?: number,
): Promise<Array<{ id: number; owner: string | null; admin: boolean; created_at: string }>> {
  let q = db
    .selectFrom('tokens as t')
    .leftJoin('owners as o', 'o.id', 't.owner_id')
    .select(['t.id as id', 't.admin as admin', 'o.name as owner', 't.created_at as created_at'])
    .orderBy('t.id');
  if (ownerId !== undefined) q = q.where('t.owner_id', '=', ownerId);
  const rows = await q.execute();
  return rows.map((r) => ({ id: Number(r.id), owner: r.owner ?? null, admin: Number(r.admin) === 1, created_at: r.created_at }));
}

/** Deletes a token by id; true when one was deleted. */
export async function revokeToken(db: LibraryDb, id: number): Promise<boolean> {
  const res = await db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

// Browser sign-in: sessions (the secret lives in an HttpOnly cookie, only its sha256 is stored) exchanged for an
// API token or a one-time sign-in code, and those codes (short-lived, redeemed at most once).
import { randomBytes } from 'node:crypto';
import type { LibraryDb } from './db.js';
import { nowIso } from './db.js';
import { findToken, hashToken, type TokenIdentity } from './tokens.js';

/** How long a browser stays signed in. */
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
/** How long a printed sign-in link works (it works once). */
export const SIGN_IN_CODE_TTL_MS = 15 * 60 * 1000;

const SESSION_PREFIX = 'pgs_';
const CODE_PREFIX = 'pgc_';

export interface SessionIdentity {
  sessionId: number;
  owner: { id: number; name: string } | null;
  admin: boolean;
}

const secret = (prefix: string) => prefix + randomBytes(32).toString('base64url');
const isoIn = (ms: number, now = Date.now()) => new Date(now + ms).toISOString();

/** Starts a session for a token's identity (ended with the token) or for an owner; returns the cookie secret. */
export async function createSession(
  db: LibraryDb,
  who: { ownerId: number | null; admin?: boolean; tokenId?: number | null },
  ttlMs = SESSION_TTL_MS,
): Promise<{ secret: string; expiresAt: string }> {
  if (who.ownerId === null && !who.admin) throw new Error('a session needs an owner or admin rights');
  const value = secret(SESSION_PREFIX);
  const expiresAt = isoIn(ttlMs);
  await db
    .insertInto('browser_sessions')
    .values({
      session_hash: hashToken(value),
      owner_id: who.ownerId,
      admin: who.admin ? 1 : 0,
      token_id: who.tokenId ?? null,
      created_at: nowIso(),
      expires_at: expiresAt,
    })
    .execute();
  return { secret: value, expiresAt };
}

/** Exchanges an API token for a session with the same rights; null when the token is unknown. */
export async function sessionForToken(db: LibraryDb, token: string): Promise<{ identity: TokenIdentity; secret: string; expiresAt: string } | null> {
  const identity = await findToken(db, token);
  if (!identity) return null;
  const s = await createSession(db, { ownerId: identity.owner?.id ?? null, admin: identity.admin, tokenId: identity.tokenId });
  return { identity, ...s };
}

/** Who a presented session secret belongs to; null when unknown, revoked or expired. */
export async function findSession(db: LibraryDb, value: string): Promise<SessionIdentity | null> {
  if (!value.startsWith(SESSION_PREFIX) || value.length > 200) return null;
  const row = await db
    .selectFrom('browser_sessions as s')
    .leftJoin('owners as o', 'o.id', 's.owner_id')
    .select(['s.id as id', 's.admin as admin', 's.expires_at as expires_at', 'o.id as owner_id', 'o.name as owner_name'])
    .where('s.session_hash', '=', hashToken(value))
    .executeTakeFirst();
  if (!row || row.expires_at <= nowIso()) return null;
  return {
    sessionId: Number(row.id),
    owner: row.owner_id !== null && row.owner_name !== null ? { id: Number(row.owner_id), name: row.owner_name } : null,
    admin: Number(row.admin) === 1,
  };
}

/** Ends a session (sign-out); true when there was one. Expired sessions are swept at the same time. */
export async function revokeSession(db: LibraryDb, value: string): Promise<boolean> {
  await db.deleteFrom('browser_sessions').where('expires_at', '<=', nowIso()).execute();
  const res = await db.deleteFrom('browser_sessions').where('session_hash', '=', hashToken(value)).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** A one-time sign-in code for an owner, valid for `ttlMs`. */
export async function createSignInCode(db: LibraryDb, ownerId: number, ttlMs = SIGN_IN_CODE_TTL_MS): Promise<{ code: string; expiresAt: string }> {
  const code = secret(CODE_PREFIX);
  const expiresAt = isoIn(ttlMs);
  await db.deleteFrom('sign_in_codes').where('expires_at', '<=', nowIso()).execute();
  await db.insertInto('sign_in_codes').values({ code_hash: hashToken(code), owner_id: ownerId, created_at: nowIso(), expires_at: expiresAt }).execute();
  return { code, expiresAt };
}

/**
 * Redeems a sign-in code: deletes it (so a second use fails, even racing) and returns its owner's session;
 * null when the code is unknown, used or expired.
 */
export async function redeemSignInCode(
  db: LibraryDb,
  code: string,
): Promise<{ owner: { id: number; name: string }; secret: string; expiresAt: string } | null> {
  if (!code.startsWith(CODE_PREFIX) || code.length > 200) return null;
  const row = await db
    .deleteFrom('sign_in_codes')
    .where('code_hash', '=', hashToken(code))
    .returning(['owner_id', 'expires_at'])
    .executeTakeFirst();
  if (!row || row.expires_at <= nowIso()) return null;
  const owner = await db.selectFrom('owners').select(['id', 'name']).where('id', '=', row.owner_id).executeTakeFirst();
  if (!owner) return null;
  const s = await createSession(db, { ownerId: Number(owner.id) });
  return { owner: { id: Number(owner.id), name: owner.name }, ...s };
}

/** The sign-in URL `up` prints: the code rides in the fragment, so it never reaches logs or Referer headers. */
export function signInUrl(base: string, code: string): string {
  return `${base.replace(/\/+$/, '')}/signin#code=${encodeURIComponent(code)}`;
}

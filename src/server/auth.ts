// Who is calling: resolves `Authorization: Bearer <token>` (API clients) or the browser's session cookie to an
// owner and/or admin, or the anonymous viewer, and turns that into the library's visibility scope. Requests that
// change state on the strength of the cookie must prove they come from the app itself (CSRF).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { LibraryDb } from '../library/db.js';
import { findSession } from '../library/browser-sessions.js';
import { findToken } from '../library/tokens.js';
import { ADMIN, PUBLIC, ownerViewer, type Viewer } from '../library/viewer.js';
import { ApiError, forbidden, unauthorized } from './errors.js';

export interface Caller {
  owner: { id: number; name: string } | null;
  admin: boolean;
  /** The library scope for read queries: admins see everything, owners their own + public, anonymous public. */
  viewer: Viewer;
  /** How the caller proved who they are. */
  via: 'bearer' | 'session' | 'none';
}

export const anonymous: Caller = { owner: null, admin: false, viewer: PUBLIC, via: 'none' };

/** The browser session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS). */
export const SESSION_COOKIE = 'pictograph_session';
/** The header the web app sends with every request; a cross-site form or image cannot set it (CSRF). */
export const CSRF_HEADER = 'x-pictograph-csrf';

const viewerOf = (who: { owner: { id: number } | null; admin: boolean }): Viewer =>
  who.admin ? ADMIN : who.owner ? ownerViewer(who.owner.id) : PUBLIC;

/**
 * The caller of a request: the Authorization header when present (401 `invalid_token` for an unknown or
 * malformed one), else the session cookie (an unknown or expired one counts as anonymous), else anonymous.
 */
export async function resolveCaller(db: LibraryDb, req: Pick<FastifyRequest, 'headers'>): Promise<Caller> {
  const header = req.headers.authorization;
  if (header !== undefined && header.trim() !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, 'invalid_token', 'The Authorization header must be `Bearer <token>`.');
    const identity = await findToken(db, m[1]!);
    if (!identity) throw new ApiError(401, 'invalid_token', 'This token is not known (revoked or mistyped).');
    return { owner: identity.owner, admin: identity.admin, viewer: viewerOf(identity), via: 'bearer' };
  }
  const session = sessionCookie(req);
  if (session) {
    const identity = await findSession(db, session);
    if (identity) return { owner: identity.owner, admin: identity.admin, viewer: viewerOf(identity), via: 'session' };
  }
  return anonymous;
}

/** The session cookie's value, if the request carries one. */
export function sessionCookie(req: Pick<FastifyRequest, 'headers'>): string | undefined {
  const raw = req.headers.cookie;
  if (!raw) return undefined;
  try {
    return parseCookies(raw)[SESSION_COOKIE] || undefined;
  } catch {
    return undefined;
  }
}

/** Sets (or, with `null`, clears) the session cookie; Secure when the request came over HTTPS. */
export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, value: string | null, expiresAt?: string): void {
  const maxAge = value && expiresAt ? Math.max(0, Math.floor((Date.parse(expiresAt) - Date.now()) / 1000)) : 0;
  const cookie = serializeCookie(SESSION_COOKIE, value ?? '', {
    httpOnly: true,
    sameSite: 'strict',
    secure: req.protocol === 'https',
    path: '/',
    maxAge,
  });
  void reply.header('set-cookie', cookie);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF guard for requests whose authority is the cookie (and for signing in, against login CSRF): they must carry
 * the app's custom header (which a cross-site page can only send after a CORS preflight this server never grants)
 * and, when the browser says where they come from (Origin, Sec-Fetch-Site), come from this very origin.
 */
export function checkSameOrigin(req: FastifyRequest): void {
  if (req.headers[CSRF_HEADER] === undefined) {
    throw new ApiError(403, 'csrf_rejected', `Requests signed in by cookie must send the ${CSRF_HEADER} header (the web app does).`);
  }
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    throw new ApiError(403, 'csrf_rejected', `Cross-site requests (${site}) may not act for a signed-in browser.`);
  }
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') {
    const own = `${req.protocol}://${req.host}`;
    if (origin.toLowerCase() !== own.toLowerCase()) {
      throw new ApiError(403, 'csrf_rejected', `Requests from ${origin} may not act for a browser signed in to ${own}.`);
    }
  } else if (origin === 'null') {
    throw new ApiError(403, 'csrf_rejected', 'Requests from an opaque origin may not act for a signed-in browser.');
  }
}

/** The CSRF rule for every request: state-changing methods signed in by cookie must be same-origin. */
export function enforceCsrf(req: FastifyRequest): void {
  if (req.caller.via === 'session' && !SAFE_METHODS.has(req.method)) checkSameOrigin(req);
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
}

/** The signed-in owner, or 401. */
export function requireOwner(req: FastifyRequest): { id: number; name: string } {
  if (!req.caller.owner) {
    throw req.caller.admin
      ? new ApiError(400, 'bad_request', 'This admin token has no owner; use an owner token for this.')
      : unauthorized();
  }
  return req.caller.owner;
}

/** 401 for anonymous callers, 403 for owners without admin rights. */
export function requireAdmin(req: FastifyRequest): void {
  if (req.caller.admin) return;
  if (!req.caller.owner) throw unauthorized();
  throw forbidden('This needs an admin token.');
}

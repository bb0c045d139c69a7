// Who is calling: resolves `Authorization: Bearer <token>` to an owner and/or admin, or the anonymous viewer,
// and turns that into the library's visibility scope.
import type { FastifyRequest } from 'fastify';
import type { LibraryDb } from '../library/db.js';
import { findToken } from '../library/tokens.js';
import { ADMIN, PUBLIC, ownerViewer, type Viewer } from '../library/viewer.js';
import { ApiError, forbidden, unauthorized } from './errors.js';

export interface Caller {
  owner: { id: number; name: string } | null;
  admin: boolean;
  /** The library scope for read queries: admins see everything, owners their own + public, anonymous public. */
  viewer: Viewer;
}

export const anonymous: Caller = { owner: null, admin: false, viewer: PUBLIC };

/** The caller of a request from its Authorization header (401 `invalid_token` for an unknown or malformed one). */
export async function resolveCaller(db: LibraryDb, header: string | undefined): Promise<Caller> {
  if (header === undefined || header.trim() === '') return anonymous;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new ApiError(401, 'invalid_token', 'The Authorization header must be `Bearer <token>`.');
  const identity = await findToken(db, m[1]!);
  if (!identity) throw new ApiError(401, 'invalid_token', 'This token is not known (revoked or mistyped).');
  const viewer = identity.admin ? ADMIN : identity.owner ? ownerViewer(identity.owner.id) : PUBLIC;
  return { owner: identity.owner, admin: identity.admin, viewer };
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

// Browser sign-in: exchange an API token or a one-time sign-in code for an HttpOnly session cookie, and sign out.
// API clients keep sending `Authorization: Bearer`; the cookie exists so that <img> requests carry the owner.
import type { FastifyInstance } from 'fastify';
import { redeemSignInCode, revokeSession, sessionForToken } from '../../library/browser-sessions.js';
import { checkSameOrigin, sessionCookie, setSessionCookie } from '../auth.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { requireJson } from './owners.js';

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };
const sessionSchema = {
  type: 'object',
  properties: { owner: { type: 'string', nullable: true }, admin: { type: 'boolean' }, expires_at: { type: 'string' } },
} as const;

export function registerSessionRoutes(app: FastifyInstance): void {
  const { db } = app.pictograph;

  app.post<{ Body: { token?: string; code?: string } }>(
    '/v1/session',
    {
      schema: {
        summary: 'Sign a browser in: exchange an API token or a one-time sign-in code for a session cookie.',
        description:
          'Sets `pictograph_session` (HttpOnly, SameSite=Strict, Secure over HTTPS). Like every request signed in by ' +
          'cookie, it must send the `x-pictograph-csrf` header and come from this origin.',
        tags: ['session'],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { token: { type: 'string', minLength: 1, maxLength: 200 }, code: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: { 200: sessionSchema, ...errors },
      },
      preValidation: requireJson,
    },
    async (req, reply) => {
      checkSameOrigin(req); // no login CSRF: a foreign page cannot sign this browser in as someone else
      const { token, code } = req.body;
      if ((token === undefined) === (code === undefined)) throw new ApiError(400, 'bad_request', 'Send either `token` or `code`.');
      // A session this browser had is replaced only once the new one exists (a stale link changes nothing).
      const old = sessionCookie(req);
      if (token !== undefined) {
        const s = await sessionForToken(db, token);
        if (!s) throw new ApiError(401, 'invalid_token', 'This token is not known (revoked or mistyped).');
        if (old) await revokeSession(db, old);
        setSessionCookie(req, reply, s.secret, s.expiresAt);
        return { owner: s.identity.owner?.name ?? null, admin: s.identity.admin, expires_at: s.expiresAt };
      }
      const s = await redeemSignInCode(db, code!);
      if (!s) {
        throw new ApiError(
          401,
          'invalid_code',
          'This sign-in link has expired or was already used; get a new one with `pictograph signin --owner NAME`.',
        );
      }
      if (old) await revokeSession(db, old);
      setSessionCookie(req, reply, s.secret, s.expiresAt);
      return { owner: s.owner.name, admin: false, expires_at: s.expiresAt };
    },
  );

  app.delete(
    '/v1/session',
    {
      schema: {
        summary: 'Sign the browser out: the session is revoked on the server and the cookie cleared.',
        tags: ['session'],
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      const value = sessionCookie(req);
      if (value) await revokeSession(db, value);
      setSessionCookie(req, reply, null);
      return reply.code(204).send();
    },
  );
}
